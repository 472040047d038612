"""Artifact layout names shared by every step (TFX-compatible where TFX has a convention)."""

SPLIT_PREFIX = "Split-"
TRAIN_SPLIT = "train"
EVAL_SPLIT = "eval"
TFRECORD_SUFFIX = ".tfrecord.gz"
# Reading a split: ours end in .tfrecord.gz, a TFX ExampleGen's are data_tfrecord-*.gz.
TFRECORD_GLOB = "*.gz"
SCHEMA_FILE = "schema.json"
STATS_FILE = "stats.json"
# TFX's names (tensorflow_metadata Schema in text format; DatasetFeatureStatisticsList per split).
SCHEMA_PBTXT_FILE = "schema.pbtxt"
FEATURE_STATS_FILE = "FeatureStats.pb"
# TFX keeps statistics in an ExampleStatistics artifact of their own: inside the examples'
# Split-<name>/ dirs TFX readers would take FeatureStats.pb for a TFRecord.
STATISTICS_DIR = "statistics"
DEAD_LETTER_DIR = "dead_letter"

METRICS_FILE = "metrics.json"
CONFUSION_FILE = "confusion_matrix.json"
SLICES_FILE = "slice_metrics.json"
BLESSED = "BLESSED"
NOT_BLESSED = "NOT_BLESSED"
BLESSING_FILE = "blessing.json"

PUSH_FILE = "push.json"
TRAINER_RESULT_FILE = "trainer.json"


def split_dir(examples_dir: str, split: str) -> str:
    """Directory holding one split's TFRecords, e.g. OUT/Split-train."""
    return f"{examples_dir.rstrip('/')}/{SPLIT_PREFIX}{split}"


def feature_stats_path(examples_dir: str, split: str) -> str:
    """TFX statistics of one split, e.g. OUT/statistics/Split-train/FeatureStats.pb."""
    statistics = f"{examples_dir.rstrip('/')}/{STATISTICS_DIR}"
    return f"{split_dir(statistics, split)}/{FEATURE_STATS_FILE}"

"""TFX-standard artifacts beside our JSON: schema.pbtxt (tensorflow_metadata Schema) and
statistics/Split-<name>/FeatureStats.pb (DatasetFeatureStatisticsList), built from the same numbers as
schema.json and stats.json, so TFDV, TFX components and Facets read our examples."""

from __future__ import annotations

from google.protobuf import text_format
from tensorflow_metadata.proto.v0 import schema_pb2, statistics_pb2

# Like TFDV's infer_schema (max_string_domain_size): string columns with at most this many
# distinct values get a domain listing them; larger ones are free text or IDs.
MAX_STRING_DOMAIN = 100
TOP_VALUES = 20

_SCHEMA_TYPES = {"int": schema_pb2.INT, "float": schema_pb2.FLOAT, "string": schema_pb2.BYTES}
_STATS_TYPES = {
    "int": statistics_pb2.FeatureNameStatistics.INT,
    "float": statistics_pb2.FeatureNameStatistics.FLOAT,
    "string": statistics_pb2.FeatureNameStatistics.STRING,
}


def schema_proto(schema: dict, stats: dict) -> schema_pb2.Schema:
    """The Schema of a Schema.to_dict() `schema` and its stats.json document `stats`.

    Every feature holds one value when present (value_count 1..1); a never-missing feature
    has presence min_fraction 1.0; string columns with few values get a string_domain.
    """
    proto = schema_pb2.Schema()
    for column in schema["columns"]:
        name, type_ = column["name"], column["type"]
        entry = stats["columns"].get(name, {})
        feature = proto.feature.add(name=name, type=_SCHEMA_TYPES[type_])
        feature.value_count.min = feature.value_count.max = 1
        feature.presence.min_count = 1
        if entry.get("count") and not entry.get("missing"):
            feature.presence.min_fraction = 1.0
        vocabulary = entry.get("vocabulary") or {}
        small = entry.get("unique") is not None and entry["unique"] <= MAX_STRING_DOMAIN
        if type_ == "string" and vocabulary and small and not entry.get("vocabulary_truncated"):
            proto.string_domain.add(name=name, value=sorted(vocabulary))
            feature.domain = name
    return proto


def schema_text(schema: dict, stats: dict) -> str:
    """schema.pbtxt: `schema_proto` in protobuf text format."""
    return text_format.MessageToString(schema_proto(schema, stats))


def feature_statistics(
    split: str, split_stats: dict
) -> statistics_pb2.DatasetFeatureStatisticsList:
    """The statistics of one split ({"num_rows", "columns"} from stats.split_stats)."""
    stats_list = statistics_pb2.DatasetFeatureStatisticsList()
    dataset = stats_list.datasets.add(name=split, num_examples=split_stats["num_rows"])
    for name, entry in split_stats["columns"].items():
        feature = dataset.features.add(type=_STATS_TYPES[entry["type"]])
        feature.path.step.append(name)
        count = entry["count"]
        common = statistics_pb2.CommonStatistics(
            num_non_missing=count,
            num_missing=entry["missing"],
            min_num_values=1 if count else 0,
            max_num_values=1 if count else 0,
            avg_num_values=1.0 if count else 0.0,
            tot_num_values=count,
        )
        if entry["type"] == "string":
            _string_statistics(feature.string_stats, common, entry)
        else:
            _numeric_statistics(feature.num_stats, common, entry)
    return stats_list


def _numeric_statistics(stats, common, entry) -> None:
    stats.common_stats.CopyFrom(common)
    if not entry["count"]:
        return
    stats.mean, stats.std_dev = entry["mean"], entry["std"]
    stats.min, stats.max = entry["min"], entry["max"]
    stats.num_zeros = entry["zeros"]
    histogram = stats.histograms.add(type=statistics_pb2.Histogram.STANDARD)
    for bucket in entry["histogram"]:
        histogram.buckets.add(
            low_value=bucket["low"], high_value=bucket["high"], sample_count=bucket["count"]
        )


def _string_statistics(stats, common, entry) -> None:
    stats.common_stats.CopyFrom(common)
    if entry["unique"] is not None:
        stats.unique = entry["unique"]
    if "avg_length" in entry:
        stats.avg_length = entry["avg_length"]
    ranked = list(entry["vocabulary"].items())  # most frequent first
    for value, n in ranked[:TOP_VALUES]:
        stats.top_values.add(value=value, frequency=n)
    for rank, (value, n) in enumerate(ranked):
        stats.rank_histogram.buckets.add(low_rank=rank, high_rank=rank, label=value, sample_count=n)

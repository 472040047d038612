"""`tpuest migrate`: TPUEstimator-era TF1 code to code that runs on TF 2.21 and this engine.

tf_upgrade_v2 (TensorFlow's own tool) runs first; this package's rules rewrite what it leaves
(tf.contrib.tpu, tf.estimator, tf.flags, tf.layers, layer_norm, ...) and report the rest.
"""

from estimator_core.migrate.files import MigrationError, migrate_paths, python_files
from estimator_core.migrate.report import Change, FileResult, Problem, format_report
from estimator_core.migrate.source import migrate_source

__all__ = [
    "Change",
    "FileResult",
    "MigrationError",
    "Problem",
    "format_report",
    "migrate_paths",
    "migrate_source",
    "python_files",
]

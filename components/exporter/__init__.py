"""Exporter: push a blessed checkpoint as a SavedModel into EXPORT_BASE/<version>/ (or not, saying why).

Example:
    from components import exporter
    result = exporter.run("out/model", "out/serving", evaluation_dir="out/eval")
    result.pushed, result.export_path

Names are imported on first use, so the `tpuest export` CLI starts without TensorFlow.
"""

from components.lazy import exports

_EXPORTS = {
    "ExporterArgs": "components.exporter.args",
    "ExporterResult": "components.exporter.export",
    "run": "components.exporter.export",
    "write_record": "components.exporter.export",
    "default_serving_input_receiver_fn": "components.serving",
}
__all__ = sorted(_EXPORTS)

__getattr__ = exports(__name__, _EXPORTS)

"""Prepare: CSV / JSON Lines files to split, gzip tf.Example TFRecords plus schema, stats, dead letters.

Example:
    from components import prepare
    result = prepare.run(["data/*.csv"], "out/examples", label="species")
    result.counts  # {"train": 275, "eval": 67}

Names are imported on first use, so the `tpuest prepare` CLI starts without Beam.
"""

from components.lazy import exports

_EXPORTS = {
    "PrepareArgs": "components.prepare.args",
    "BadDataError": "components.prepare.prepare",
    "MalformedInputError": "components.prepare.prepare",
    "PrepareResult": "components.prepare.prepare",
    "run": "components.prepare.prepare",
}
__all__ = sorted(_EXPORTS)

__getattr__ = exports(__name__, _EXPORTS)

"""One scratch directory per benchmark run, removed when the run ends.

The benchmarks create model_dirs, prepared data and pipeline roots (hundreds of MB each, the
legacy peer's too); pointing `tempfile` and TMPDIR (for subprocesses) at a directory of their
own lets one cleanup catch them all, whatever a benchmark raised.
"""

from __future__ import annotations

import functools
import os
import shutil
import tempfile


def cleaned_up(main):
    """Decorates a benchmark entry point: its temporary files live and die with the call."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        if os.environ.get("TPUEST_BENCH_SCRATCH"):  # an enclosing benchmark run owns it
            return main(*args, **kwargs)
        root = tempfile.mkdtemp(prefix="tpuest-bench-")
        saved = {k: os.environ.get(k) for k in ("TMPDIR", "TPUEST_BENCH_SCRATCH")}
        saved_tempdir = tempfile.tempdir
        os.environ["TMPDIR"] = os.environ["TPUEST_BENCH_SCRATCH"] = tempfile.tempdir = root
        try:
            return main(*args, **kwargs)
        finally:
            tempfile.tempdir = saved_tempdir
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value
            shutil.rmtree(root, ignore_errors=True)

    return wrapper

"""Pipeline options and runner: the in-process FnApiRunner unless the caller names a runner."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.runners.portability.fn_api_runner import FnApiRunner

log = logging.getLogger("tpuest.prepare")

RUNNING_MODES = ("in_memory", "multi_threading", "multi_processing")
# Below this much input, worker processes take longer to start (~1.5 s each, importing Beam)
# than they save, and threads are faster: gzip and file I/O release the GIL. Measured on 2
# cores with bench/prepare_throughput.py: at 8 MB threads 165k rows/s, processes 92k; at 42 MB
# both ~250k rows/s (one in-memory worker: 151k and 187k).
MULTI_PROCESSING_MIN_BYTES = 32 << 20


def pipeline_options(
    beam_options: Sequence[str] | None = None,
    *,
    direct_num_workers: int = 1,
    direct_running_mode: str | None = None,
    input_bytes: int | None = None,
) -> PipelineOptions:
    """PipelineOptions from Beam flags, with the local worker count and mode filled in.

    Flags in `beam_options` (e.g. ["--runner=DataflowRunner", "--project=p"]) pass unchanged.
    Without a mode, more than one worker means multi_processing (Python in parallel), or
    multi_threading if `input_bytes` is known and under MULTI_PROCESSING_MIN_BYTES.
    """
    if direct_num_workers < 0:
        raise ValueError(
            f"direct_num_workers must be >= 0 (0 = one per CPU), got {direct_num_workers}"
        )
    if direct_running_mode is None and direct_num_workers != 1:
        small = input_bytes is not None and input_bytes < MULTI_PROCESSING_MIN_BYTES
        direct_running_mode = "multi_threading" if small else "multi_processing"
        log.info(
            "prepare: %s input bytes -> %s with %s worker(s)",
            "unknown" if input_bytes is None else input_bytes,
            direct_running_mode,
            direct_num_workers or "one per CPU",
        )
    if direct_running_mode is None:
        direct_running_mode = "in_memory"
    if direct_running_mode not in RUNNING_MODES:
        raise ValueError(
            f"direct_running_mode {direct_running_mode!r} is not one of {RUNNING_MODES}"
        )
    options = PipelineOptions(list(beam_options or []))
    direct = options.view_as(DirectOptions)
    direct.direct_num_workers = direct_num_workers
    direct.direct_running_mode = direct_running_mode
    return options


def make_pipeline(options: PipelineOptions) -> beam.Pipeline:
    """A Pipeline on the runner named in `options`, else on FnApiRunner.

    Beam's DirectRunner first tries PrismRunner, which downloads its binary from the internet;
    FnApiRunner is what it falls back to, so a local run goes straight there.
    """
    if options.view_as(StandardOptions).runner:
        return beam.Pipeline(options=options)
    log.debug("no --runner given: using the in-process FnApiRunner")
    return beam.Pipeline(runner=FnApiRunner(), options=options)

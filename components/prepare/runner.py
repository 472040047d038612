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
# than they save: prepare runs in memory at ~10 MB/s of CSV (measured on 2 cores; see
# bench/prepare_throughput.py).
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
    Without a mode, more than one worker means multi_processing (the mode that runs Python in
    parallel) unless `input_bytes` is known and under MULTI_PROCESSING_MIN_BYTES: then one
    in-memory worker finishes first.
    """
    if direct_num_workers < 0:
        raise ValueError(
            f"direct_num_workers must be >= 0 (0 = one per CPU), got {direct_num_workers}"
        )
    if direct_running_mode is None and direct_num_workers != 1:
        if input_bytes is not None and input_bytes < MULTI_PROCESSING_MIN_BYTES:
            log.info(
                "prepare: %d input bytes < %d: one in-memory worker instead of %s processes "
                "(pass direct_running_mode to insist)",
                input_bytes,
                MULTI_PROCESSING_MIN_BYTES,
                direct_num_workers or "one per CPU",
            )
            direct_num_workers = 1
        else:
            direct_running_mode = "multi_processing"
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

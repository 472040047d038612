"""Pipeline options and runner: the in-process FnApiRunner unless the caller names a runner.

Beam's DirectRunner would first download and start the Prism runner (a Go binary fetched from
GitHub) and fall back to FnApiRunner only when that fails, so a run on a machine with internet
would differ from one without. prepare names FnApiRunner itself; any other runner comes from
`--runner` in the Beam flags, unchanged (PortableRunner, DataflowRunner, FlinkRunner, ...).
"""

from __future__ import annotations

# First: Beam imported through beam_import, which hides its import-time chatter.
from components.prepare import beam_import  # noqa: F401

# isort: split

import logging
from collections.abc import Sequence

import apache_beam as beam
from apache_beam.options.pipeline_options import DirectOptions, PipelineOptions, StandardOptions
from apache_beam.portability.api import beam_provision_api_pb2
from apache_beam.runners.portability.fn_api_runner import FnApiRunner
from apache_beam.runners.portability.fn_api_runner.fn_runner import ExtendedProvisionInfo
from google.protobuf import struct_pb2

from components.prepare.args import RUNNING_MODES

log = logging.getLogger("tpuest.prepare")

DEFAULT_RUNNER = "FnApiRunner"
# What FnApiRunner's worker processes (multi_processing) log at: their INFO start-up lines
# would otherwise fill the terminal.
WORKER_LOG_LEVEL = "WARNING"
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


def runner_name(options: PipelineOptions) -> str:
    """The runner `make_pipeline` uses for `options`: `--runner`, else DEFAULT_RUNNER."""
    return options.view_as(StandardOptions).runner or DEFAULT_RUNNER


def make_pipeline(options: PipelineOptions) -> beam.Pipeline:
    """A Pipeline on the runner named in `options`, else on the in-process FnApiRunner."""
    name = runner_name(options)
    if options.view_as(StandardOptions).runner:
        log.info("prepare: Beam runner %s (from --runner)", name)
        return beam.Pipeline(options=options)
    direct = options.view_as(DirectOptions)
    log.info(
        "prepare: Beam runner %s (in process; %s, %s worker(s))",
        name,
        direct.direct_running_mode,
        direct.direct_num_workers or "one per CPU",
    )
    worker_options = struct_pb2.Struct()
    worker_options.update({"beam:option:default_sdk_harness_log_level:v1": WORKER_LOG_LEVEL})
    provision = ExtendedProvisionInfo(
        beam_provision_api_pb2.ProvisionInfo(
            retrieval_token="unused-retrieval-token", pipeline_options=worker_options
        )
    )
    return beam.Pipeline(runner=FnApiRunner(provision_info=provision), options=options)

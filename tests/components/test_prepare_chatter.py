"""Beam's import-time chatter is hidden; real warnings and the program's own logging are not."""

import logging
import subprocess
import sys

from components.prepare import beam_import

PROGRAM = """
import logging
from components.prepare import run  # imports Beam before any logging is configured
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
logging.getLogger("mine").info("after the import")
logging.getLogger("apache_beam.io.gcp.bigquery").warning("a real Beam warning")
logging.warning("apitools not found, and bigquery client libraries are not available")
"""


def run(*args):
    proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_importing_prepare_shows_no_chatter_and_leaves_logging_to_the_program():
    err = run("-c", PROGRAM)
    assert "bigquery_storage_v1" not in err
    # The program configured logging itself: its INFO line shows, in its own format.
    assert "INFO mine: after the import" in err
    assert "WARNING apache_beam.io.gcp.bigquery: a real Beam warning" in err
    # Only the import is quiet: the same text logged later is the program's business.
    assert err.count("apitools not found") == 1


def test_tpuest_prepare_help_prints_no_warning():
    err = run("-m", "pipelines.tpuest", "prepare", "--help")
    assert err == ""


def test_chatter_filter_drops_only_the_chatter():
    def record(message, name="root"):
        return logging.LogRecord(name, logging.WARNING, __file__, 1, message, None, None)

    chatter = beam_import.ChatterFilter()
    assert not chatter.filter(
        record("apitools not found, and bigquery client libraries are not available despite")
    )
    assert chatter.filter(record("apitools missing: a different message"))
    run_chatter = beam_import.ChatterFilter(beam_import.RUN_CHATTER)
    assert not run_chatter.filter(record('Converting string literal type hint to Any: "dict"'))
    assert run_chatter.filter(record("Job state changed to FAILED"))
    logger = logging.getLogger(beam_import.RUN_CHATTY_LOGGERS[0])
    assert sum(isinstance(f, beam_import.ChatterFilter) for f in logger.filters) == 1

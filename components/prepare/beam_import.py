"""Imports Apache Beam with its import-time chatter hidden; real warnings still show.

Importing Beam without its gcp extras logs "apitools not found, and bigquery client libraries
are not available..." on the root logger and an INFO that google.cloud.bigquery_storage_v1 is
missing: both about BigQuery I/O, which prepare never uses. Worse, the first of them goes
through `logging.warning`, which configures the root logger when it has no handler yet, so a
program's own `logging.basicConfig(level=INFO)` afterwards did nothing and prepare's INFO
lines were lost. The import here runs with a filter for exactly those messages and, when the
root logger has no handler, a temporary one that prints like Python's last resort.

Two INFO lines Beam logs on every local run say nothing to a user and stay filtered out of
their loggers: "Converting string literal type hint to Any" (postponed annotations) and
"Creating state cache with size ...".
"""

from __future__ import annotations

import contextlib
import logging
import re
import sys

CHATTER = re.compile(
    r"^(apitools not found, and bigquery client libraries are not available"
    r"|No module named google\.cloud\.bigquery_storage_v1\. As a result)"
)
# Loggers besides the root logger that Beam's import-time chatter comes from.
CHATTY_LOGGERS = ("apache_beam.io.gcp.bigquery",)
RUN_CHATTER = re.compile(r"^(Converting string literal type hint to Any|Creating state cache with)")
RUN_CHATTY_LOGGERS = (
    "apache_beam.typehints.native_type_compatibility",
    "apache_beam.runners.worker.statecache",
)


class ChatterFilter(logging.Filter):
    """Drops the records whose message `pattern` matches; every other record passes."""

    def __init__(self, pattern: re.Pattern = CHATTER):
        super().__init__()
        self.pattern = pattern

    def filter(self, record: logging.LogRecord) -> bool:
        return not self.pattern.match(record.getMessage())


@contextlib.contextmanager
def chatter_hidden():
    """Within: CHATTER records are dropped and the root logger is not configured as a side effect."""
    chatter = ChatterFilter()
    root = logging.getLogger()
    loggers = [root] + [logging.getLogger(name) for name in CHATTY_LOGGERS]
    for logger in loggers:
        logger.addFilter(chatter)
    placeholder = None
    if not root.handlers:
        placeholder = logging.lastResort or logging.StreamHandler(sys.stderr)
        root.addHandler(placeholder)
    try:
        yield
    finally:
        if placeholder is not None:
            root.removeHandler(placeholder)
        for logger in loggers:
            logger.removeFilter(chatter)


def import_beam():
    """`apache_beam`, imported (once) with its chatter hidden, and its run chatter filtered."""
    if "apache_beam" not in sys.modules:
        with chatter_hidden():
            import apache_beam  # noqa: F401
    for name in RUN_CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, ChatterFilter) for f in logger.filters):
            logger.addFilter(ChatterFilter(RUN_CHATTER))
    return sys.modules["apache_beam"]


import_beam()

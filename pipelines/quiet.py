"""Imports TensorFlow with its start-up C++ chatter filtered out of stderr.

TensorFlow 2.21 prints lines such as "All log messages before absl::InitializeLog() ...",
"oneDNN custom operations are on" and "Could not find cuda drivers" straight to file
descriptor 2 while it loads, before TF_CPP_MIN_LOG_LEVEL applies. The CLI captures fd 2 for
the import and the first device scan, then writes back every line that is not such chatter,
so real errors still reach the user.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile

NOISE = re.compile(
    r"^(WARNING: All log messages before absl::InitializeLog\(\) is called"
    r"|[IWE]\d{4} [\d:. ]+\d+ (port|cudart_stub|cpu_feature_guard|cuda_platform|cuda_executor)\.cc"
    r"|To enable the following instructions: .* rebuild TensorFlow)"
)


def keep(text: str) -> str:
    """The lines of captured stderr that are not TensorFlow start-up chatter."""
    return "".join(line for line in text.splitlines(True) if not NOISE.match(line))


def import_tensorflow() -> None:
    """Imports TensorFlow and scans devices once, passing only meaningful stderr through."""
    if "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile(mode="w+b") as captured:
        os.dup2(captured.fileno(), 2)
        failed = True
        try:
            import tensorflow as tf

            tf.config.list_physical_devices()
            failed = False
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            captured.seek(0)
            text = captured.read().decode(errors="replace")
            sys.stderr.write(text if failed else keep(text))
            sys.stderr.flush()

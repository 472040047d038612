"""Importing this routes `tf.compat.v1.layers` (and `tf.keras`) to tf-keras, for TF1 layer code.

TensorFlow 2.21 resolves those names on first use, through Keras 3 unless TF_USE_LEGACY_KERAS is
set; Keras 3 has no `tf.compat.v1.layers`. `tpuest migrate` adds this import to files that use
them, so a migrated script runs as `python script.py` without an environment variable.
"""

import importlib.util
import os

if importlib.util.find_spec("tf_keras") is None:
    raise ImportError(
        "tf.compat.v1.layers needs tf-keras: install the 'legacy' extra "
        "(pip install 'tpuest[legacy]', or pip install 'tf-keras>=2.21,<2.22')"
    )
if os.environ.get("TF_USE_LEGACY_KERAS", "1") not in ("1", "true", "True"):
    raise ImportError(
        f"TF_USE_LEGACY_KERAS={os.environ['TF_USE_LEGACY_KERAS']!r}, but this module's "
        "tf.compat.v1.layers need tf-keras: unset it or set it to 1"
    )
os.environ["TF_USE_LEGACY_KERAS"] = "1"

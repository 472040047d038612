"""Importing this routes `tf.compat.v1.layers` (and `tf.keras`) to tf-keras, for TF1 layer code.

TensorFlow 2.21 resolves those names on first use, through Keras 3 unless TF_USE_LEGACY_KERAS is
set; Keras 3 has no `tf.compat.v1.layers`. `tpuest migrate` adds this import to files that use
them, so a migrated script runs as `python script.py` without an environment variable.

TensorFlow's own `tensorflow.python.layers.normalization` (what tf-slim's `batch_norm` builds
its layer with) loads `tf_keras.legacy_tf_layers.normalization`, a path tf-keras wheels keep under
`tf_keras.src`; the finder below answers that name with the `src` module (nothing else changes).
"""

import importlib
import importlib.abc
import importlib.util
import os
import sys

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

_MISSING = "tf_keras.legacy_tf_layers"


class _LegacyTfLayersAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """`tf_keras.legacy_tf_layers[.x]` is the module `tf_keras.src.legacy_tf_layers[.x]` (one
    module object under both names, so its classes are the same), unless tf-keras ships the
    first path itself."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname != _MISSING and not fullname.startswith(_MISSING + "."):
            return None
        package = importlib.util.find_spec("tf_keras")
        if os.path.isdir(os.path.join(os.path.dirname(package.origin), "legacy_tf_layers")):
            return None
        source = "tf_keras.src" + fullname[len("tf_keras") :]
        if importlib.util.find_spec(source) is None:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module("tf_keras.src" + spec.name[len("tf_keras") :])
        spec.loader_state = module.__spec__  # the import system sets __spec__ to the alias's
        return module

    def exec_module(self, module):
        module.__spec__ = module.__spec__.loader_state  # the `src` module ran when imported


if not any(isinstance(f, _LegacyTfLayersAlias) for f in sys.meta_path):
    sys.meta_path.insert(0, _LegacyTfLayersAlias())  # before the path finder: children too

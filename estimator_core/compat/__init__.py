"""Migration aids: what TPU-era scripts used and TensorFlow 2.21 lacks, under the same contracts.

`compat.tpu` stands in for `tf.compat.v1.estimator.tpu`; `compat.layers`, `compat.initializers`,
`compat.regularizers`, `compat.metrics`, `compat.image` and `compat.hparams` for the `tf.contrib`
functions those scripts call; `compat.estimator` for the one tensorflow_estimator private
helper they use; `legacy_keras` switches `tf.keras` to tf-keras. Submodules load on first use:
`from estimator_core.compat import legacy_keras` must run before anything imports TensorFlow
(which fixes `tensorflow.keras` to Keras 3 unless the switch is on).
"""

import importlib

_MODULES = (
    "estimator",
    "hparams",
    "image",
    "initializers",
    "layers",
    "legacy_keras",
    "metrics",
    "regularizers",
    "tpu",
)

__all__ = [
    "estimator",
    "hparams",
    "image",
    "initializers",
    "layers",
    "metrics",
    "regularizers",
    "tpu",
]


def __getattr__(name: str):
    if name not in _MODULES:
        raise AttributeError(f"module 'estimator_core.compat' has no attribute {name!r}")
    module = importlib.import_module(f"estimator_core.compat.{name}")
    globals()[name] = module
    return module

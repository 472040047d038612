"""tensorflow_estimator's `_load_global_step_from_checkpoint_dir`, which TPU-era scripts call."""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def load_global_step_from_checkpoint_dir(checkpoint_dir: str) -> np.int64:
    """The global step of the latest checkpoint in `checkpoint_dir`, or 0 if there is none.

    The original's private helper, kept as it behaved (EfficientNet and ResNet read the step to
    resume from with it): a NumPy int64, 0 also when the checkpoint has no `global_step`.
    """
    path = tf.train.latest_checkpoint(checkpoint_dir)
    if path is None:
        return np.int64(0)
    reader = tf.train.load_checkpoint(path)
    if not reader.has_tensor("global_step"):
        return np.int64(0)
    return np.int64(reader.get_tensor("global_step"))

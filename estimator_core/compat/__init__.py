"""Migration aids: `compat.tpu` stands in for `tf.compat.v1.estimator.tpu`, `compat.layers` for
the `tf.contrib.layers` functions TPU-era checkpoints depend on."""

from estimator_core.compat import layers, tpu

__all__ = ["layers", "tpu"]

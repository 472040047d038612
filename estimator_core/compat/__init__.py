"""Migration aid: `from estimator_core.compat import tpu` stands in for `tf.compat.v1.estimator.tpu`."""

from estimator_core.compat import tpu

__all__ = ["tpu"]

"""Local logical CPU devices, for replicating over CPUs (MirroredStrategy) on one machine."""

from __future__ import annotations

from estimator_core.checks import positive_int


def local_cpu_devices(count: int) -> list[str]:
    """Splits the machine's CPU into `count` logical devices and returns their names.

    TensorFlow 2.21 builds MirroredStrategy's collectives in its constructor, so the devices a
    strategy names must exist before it is created, and logical devices can only be configured
    before TensorFlow's runtime starts (before the first op, tf.function or device listing).
    Call this first:

        devices = local_cpu_devices(4)  # ['/cpu:0', '/cpu:1', '/cpu:2', '/cpu:3']
        strategy = tf.distribute.MirroredStrategy(devices=devices)

    Calling it again with a count the runtime already has (or fewer) returns the names.

    Raises:
        ValueError: `count` is not a positive int.
        RuntimeError: the runtime started already with fewer CPU devices than `count`.
    """
    import tensorflow as tf

    count = positive_int("count", count)
    cpu = tf.config.list_physical_devices("CPU")[0]
    configured = tf.config.get_logical_device_configuration(cpu) or [None]
    if len(configured) < count:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration()] * count
            )
        except RuntimeError:
            have = len(tf.config.list_logical_devices("CPU"))
            raise RuntimeError(
                f"TensorFlow's runtime already started with {have} CPU device(s), so {count} "
                "logical CPU devices cannot be made now: call local_cpu_devices() before any "
                "TensorFlow op runs (first thing in the program)"
            ) from None
    return [f"/cpu:{i}" for i in range(count)]

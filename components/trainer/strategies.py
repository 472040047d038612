"""Off-TPU replication for the trainer: MirroredStrategy over N local devices, or TF_CONFIG workers."""

from __future__ import annotations

import json
import logging
import os

import tensorflow as tf

from components.trainer.args import STRATEGIES
from estimator_core.devices import local_cpu_devices

log = logging.getLogger("tpuest.trainer")


def _local_devices(replicas: int) -> list[str]:
    """`replicas` GPUs if there are that many, else that many logical CPU devices."""
    gpus = tf.config.list_physical_devices("GPU")
    if len(gpus) >= replicas:
        return [f"/gpu:{i}" for i in range(replicas)]
    try:
        return local_cpu_devices(replicas)
    except RuntimeError as e:
        raise RuntimeError(f"replicas={replicas}: {e}; run the trainer in a fresh process") from e


def _tf_config_workers() -> int:
    raw = os.environ.get("TF_CONFIG", "")
    if not raw:
        return 0
    try:
        cluster = json.loads(raw).get("cluster", {})
    except json.JSONDecodeError as e:
        raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from e
    return len(cluster.get("chief", [])) + len(cluster.get("worker", []))


def make_strategy(strategy: str | None, replicas: int = 1):
    """The RunConfig.train_distribute value for `strategy` and `replicas` (None: one device).

    "mirrored" (the default when replicas > 1) mirrors over `replicas` local devices.
    "multi_worker" trains across the workers listed in TF_CONFIG: the engine builds the
    MultiWorkerMirroredStrategy itself from TF_CONFIG (it owns the tf.distribute.Server),
    so this returns None after checking TF_CONFIG names more than one worker.

    Raises:
        ValueError: an unknown strategy, or multi_worker without a multi-worker TF_CONFIG.
    """
    if strategy is not None and strategy not in STRATEGIES:
        raise ValueError(f"strategy {strategy!r} is not one of {STRATEGIES}")
    if strategy == "multi_worker":
        workers = _tf_config_workers()
        if workers < 2:
            raise ValueError(
                "strategy multi_worker needs TF_CONFIG listing at least 2 workers "
                f"(found {workers}); set TF_CONFIG on every worker, or use --strategy mirrored"
            )
        if replicas > 1:
            raise ValueError("replicas is per machine for mirrored; multi_worker uses TF_CONFIG")
        log.info("multi-worker training over %d workers from TF_CONFIG", workers)
        return None
    if replicas == 1 and strategy is None:
        return None
    devices = _local_devices(replicas)
    log.info("mirrored training over %s", ", ".join(devices))
    return tf.distribute.MirroredStrategy(devices=devices)

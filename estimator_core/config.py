"""Immutable run configuration: RunConfig, TPUConfig, InputPipelineConfig, WarmStartSettings."""

from __future__ import annotations

import dataclasses
import json
import logging
import numbers
import os
import threading
from typing import Any

import tensorflow as tf

from estimator_core.checks import duration_secs, non_negative_int, positive_int

log = logging.getLogger("estimator_core")


class InputPipelineConfig:
    """How input_fn is invoked for training: once per shard or once per host."""

    PER_SHARD_V1 = 1
    PER_HOST_V1 = 2
    PER_HOST_V2 = 3
    BROADCAST = 4
    SLICED = 5

    ALL = (PER_SHARD_V1, PER_HOST_V1, PER_HOST_V2, BROADCAST, SLICED)


# Fields kept for the original's signatures that this engine has no use for: a value other than
# the default gets one warning saying why it changes nothing.
_IGNORED_FIELDS = {
    "TPUConfig": {
        "tpu_job_name": "the TPU and its job come from the cluster resolver (RunConfig.cluster, "
        "master or TPU_NAME)",
        "initial_infeed_sleep_secs": "there is no infeed thread: input is read by tf.data "
        "inside the training loop",
        "eval_training_input_configuration": "evaluation input is read once per host and "
        "split along batch_axis",
    },
    "RunConfig": {
        "evaluation_master": "evaluation runs in the calling process, on the same target as "
        "training (master / cluster)",
        "protocol": "worker servers use TensorFlow's default protocol",
        "experimental_max_worker_delay_secs": "workers start together (collective all-reduce "
        "needs every worker from the first step)",
        "session_creation_timeout_secs": "sessions are created in the calling process without "
        "waiting for a chief",
        "checkpoint_save_graph_def": "checkpoints are saved without a graph.pbtxt",
    },
}
_replacing = threading.local()


def _warn_ignored(config, names=None) -> None:
    """Warns about each ignored field of `config` (among `names`) not at its default."""
    if getattr(_replacing, "active", False):
        return
    owner = type(config).__name__
    defaults = {f.name: f.default for f in dataclasses.fields(config)}
    for name, why in _IGNORED_FIELDS[owner].items():
        if (names is None or name in names) and getattr(config, name) != defaults[name]:
            log.warning("%s: argument %r is ignored: %s", owner, name, why)


def _replace(config, changes: dict):
    """dataclasses.replace, warning only about ignored fields this replace sets (the fields
    carried over were warned about when `config` was built)."""
    _replacing.active = True
    try:
        new = dataclasses.replace(config, **changes)
    finally:
        _replacing.active = False
    _warn_ignored(new, changes)
    return new


def _normalize(config, name: str, value) -> None:
    """Stores a checked value (e.g. a NumPy integer made a Python int) in a frozen config."""
    object.__setattr__(config, name, value)


@dataclasses.dataclass(frozen=True)
class TPUConfig:
    """TPU loop and sharding settings; positional order as the original (iterations, num_shards, ...).

    `iterations_per_loop` is how many steps run on the device per `session.run` (an int) or a
    time budget per loop ('30s', '5m') that the engine adapts the step count to.
    """

    iterations_per_loop: int | str = 2
    num_shards: int | None = None
    num_cores_per_replica: int | None = None
    per_host_input_for_training: bool | int = True
    tpu_job_name: str | None = None
    initial_infeed_sleep_secs: float | None = None
    eval_training_input_configuration: int = InputPipelineConfig.PER_HOST_V1

    def __post_init__(self):
        ipl = self.iterations_per_loop
        if isinstance(ipl, str):
            try:
                duration_secs("TPUConfig.iterations_per_loop", ipl)
            except ValueError as e:
                raise ValueError(f"{e}, or a positive int (steps per loop)") from None
        else:
            _normalize(
                self, "iterations_per_loop", positive_int("TPUConfig.iterations_per_loop", ipl)
            )
        for name in ("num_shards", "num_cores_per_replica"):
            _normalize(
                self, name, positive_int(f"TPUConfig.{name}", getattr(self, name), optional=True)
            )
        phi = self.per_host_input_for_training
        if not isinstance(phi, bool) and phi not in InputPipelineConfig.ALL:
            raise ValueError(
                "TPUConfig.per_host_input_for_training must be a bool or an InputPipelineConfig "
                f"value, got {phi!r}"
            )
        if self.eval_training_input_configuration not in (
            InputPipelineConfig.PER_HOST_V1,
            InputPipelineConfig.SLICED,
        ):
            raise ValueError(
                "TPUConfig.eval_training_input_configuration must be PER_HOST_V1 or SLICED, got "
                f"{self.eval_training_input_configuration!r}"
            )
        if self.initial_infeed_sleep_secs is not None and self.initial_infeed_sleep_secs < 0:
            raise ValueError("TPUConfig.initial_infeed_sleep_secs must be >= 0")
        _warn_ignored(self)

    @property
    def per_host_input(self) -> bool:
        """True when input_fn is called once per host (True, PER_HOST_V1/V2, BROADCAST, SLICED)."""
        phi = self.per_host_input_for_training
        if isinstance(phi, bool):
            return phi
        return phi != InputPipelineConfig.PER_SHARD_V1

    @property
    def loop_time_budget(self) -> float | None:
        """Seconds per loop when iterations_per_loop is a duration, else None."""
        if isinstance(self.iterations_per_loop, str):
            return duration_secs("TPUConfig.iterations_per_loop", self.iterations_per_loop)
        return None

    def replace(self, **changes) -> TPUConfig:
        return _replace(self, changes)


@dataclasses.dataclass(frozen=True)
class WarmStartSettings:
    """Where to warm-start from and which variables (a regex over variable names, or a list)."""

    ckpt_to_initialize_from: str
    vars_to_warm_start: str | list[str] | None = ".*"
    fail_on_unmatched: bool = False


_DEFAULT_SAVE_SECS = 600


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunConfig:
    """Where and how a TPUEstimator runs: model_dir, checkpoint/summary cadence, TPU and cluster.

    Only one of save_checkpoints_steps and save_checkpoints_secs may be set; with neither, a
    checkpoint is saved every 600 seconds (and always at the end of training).
    `loop_timeout_secs` bounds one host loop (iterations_per_loop steps): across workers, a hung
    peer then fails training with an error instead of blocking it forever.
    """

    tpu_config: TPUConfig = dataclasses.field(default_factory=TPUConfig)
    cluster: Any = None
    master: str | None = None
    evaluation_master: str | None = None
    model_dir: str | None = None
    tf_random_seed: int | None = None
    save_checkpoints_steps: int | None = None
    save_checkpoints_secs: float | None = None
    save_summary_steps: int = 100
    keep_checkpoint_max: int | None = 5
    log_step_count_steps: int = 100
    session_config: tf.compat.v1.ConfigProto | None = None
    train_distribute: Any = None
    eval_distribute: Any = None
    loop_timeout_secs: float | None = None
    # The original Estimator's RunConfig fields: the first two apply, the others warn once.
    keep_checkpoint_every_n_hours: float = 10000
    device_fn: Any = None
    protocol: str | None = None
    experimental_max_worker_delay_secs: int | None = None
    session_creation_timeout_secs: int = 7200
    checkpoint_save_graph_def: bool = True

    def __post_init__(self):
        if not isinstance(self.tpu_config, TPUConfig):
            raise ValueError(
                f"RunConfig.tpu_config must be a TPUConfig, got {type(self.tpu_config)}"
            )
        if self.save_checkpoints_steps is not None and self.save_checkpoints_secs is not None:
            raise ValueError(
                "RunConfig: set at most one of save_checkpoints_steps "
                f"({self.save_checkpoints_steps}) and save_checkpoints_secs "
                f"({self.save_checkpoints_secs})"
            )
        for name in ("save_checkpoints_steps", "save_summary_steps", "log_step_count_steps"):
            _normalize(
                self, name, positive_int(f"RunConfig.{name}", getattr(self, name), optional=True)
            )
        _normalize(
            self,
            "keep_checkpoint_max",
            non_negative_int(
                "RunConfig.keep_checkpoint_max", self.keep_checkpoint_max, optional=True
            ),
        )
        if self.save_checkpoints_secs is not None and self.save_checkpoints_secs <= 0:
            raise ValueError(
                f"RunConfig.save_checkpoints_secs must be > 0, got {self.save_checkpoints_secs!r}"
            )
        if self.loop_timeout_secs is not None and self.loop_timeout_secs <= 0:
            raise ValueError(
                f"RunConfig.loop_timeout_secs must be > 0, got {self.loop_timeout_secs!r}"
            )
        seed = self.tf_random_seed
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
                raise ValueError(f"RunConfig.tf_random_seed must be an int, got {seed!r}")
            _normalize(self, "tf_random_seed", int(seed))
        _warn_ignored(self)

    @property
    def checkpoint_every(self) -> tuple[int | None, float | None]:
        """(steps, secs) for the checkpoint timer; secs defaults to 600 when neither is set."""
        if self.save_checkpoints_steps is None and self.save_checkpoints_secs is None:
            return None, _DEFAULT_SAVE_SECS
        return self.save_checkpoints_steps, self.save_checkpoints_secs

    @property
    def tf_config(self) -> dict:
        """The parsed TF_CONFIG environment variable ({} when unset)."""
        raw = os.environ.get("TF_CONFIG", "")
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"TF_CONFIG is not valid JSON: {e}") from e

    @property
    def task_type(self) -> str:
        return self.tf_config.get("task", {}).get("type", "worker")

    @property
    def task_id(self) -> int:
        return int(self.tf_config.get("task", {}).get("index", 0))

    @property
    def num_worker_replicas(self) -> int:
        cluster = self.tf_config.get("cluster", {})
        return max(1, len(cluster.get("chief", [])) + len(cluster.get("worker", [])))

    @property
    def is_chief(self) -> bool:
        """The chief writes checkpoints and summaries: task 'chief', or worker 0 when no chief."""
        cluster = self.tf_config.get("cluster", {})
        if self.task_type == "chief":
            return True
        return self.task_type == "worker" and self.task_id == 0 and not cluster.get("chief")

    def replace(self, **changes) -> RunConfig:
        return _replace(self, changes)

"""The trainer's parameters, defined once for its library, CLI, KFP and TFX faces."""

from __future__ import annotations

import dataclasses
from typing import Any

from components.step_args import ArgsError, param, positive_int, positive_number, text_or_none
from estimator_core.checks import duration_secs

STRATEGIES = ("mirrored", "multi_worker")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainerArgs:
    """How to train: steps, batch, loop, devices, model code, checkpoints.

    Example:
        TrainerArgs(train_steps=1000, params={"learning_rate": 0.003}, seed=0)
    """

    train_steps: int = param(
        help="the global step to reach; a resumed or retried run trains only the rest"
    )
    module_file: str | None = param(
        None,
        help=".py path or module name with model_fn (default: the built-in model)",
        kfp_none="",
    )
    train_batch_size: int = param(32, help="global batch, split across replicas or TPU shards")
    iterations_per_loop: int | str = param(
        100, help="steps per session.run, or a time budget per loop like 30s"
    )
    replicas: int = param(1, help="devices to mirror over (off TPU)")
    strategy: str | None = param(
        None,
        help="mirrored (default with replicas > 1) or multi_worker (workers from TF_CONFIG)",
        kfp_none="",
    )
    use_tpu: bool = param(False, help="train on a TPU")
    tpu: str | None = param(
        None, help="TPU name or grpc:// address (default: $TPU_NAME)", kfp_none=""
    )
    num_shards: int | None = param(
        None, help="TPU cores to shard over (default: one per core)", kfp_none=0
    )
    warm_start_from: str | None = param(
        None, help="a previous model dir or checkpoint to initialize a new model from", kfp_none=""
    )
    params: dict[str, Any] = param(
        default_factory=dict, help="hyperparameter overrides on top of the module's params"
    )
    seed: int | None = param(None, help="graph-level random seed", kfp_none=-1)
    save_checkpoints_steps: int | None = param(
        None, help="checkpoint every N steps (default: every 600 s and at the end)", kfp_none=0
    )
    loop_timeout_secs: float | None = param(
        None,
        help="fail a host loop (iterations_per_loop steps) that runs longer than this, e.g. an "
        "input that never yields (default: no limit)",
        kfp_none=0.0,
    )
    checkpoint_dir: str | None = param(
        None,
        help="durable checkpoint location (gs://... or a mounted volume) that outlives the "
        "model dir; a retry with the same one resumes there (default: the model dir)",
        kfp_none="",
    )

    def __post_init__(self):
        positive_int("train_steps", self.train_steps)
        positive_int("train_batch_size", self.train_batch_size)
        positive_int("replicas", self.replicas)
        positive_int("num_shards", self.num_shards, optional=True)
        positive_int("save_checkpoints_steps", self.save_checkpoints_steps, optional=True)
        positive_number("loop_timeout_secs", self.loop_timeout_secs, optional=True)
        ipl = self.iterations_per_loop
        if isinstance(ipl, str):
            try:
                duration_secs("iterations_per_loop", ipl)  # the engine's parser, without TF
            except ValueError:
                raise ArgsError(
                    "iterations_per_loop",
                    f"{ipl!r} must be a positive int or a duration like '30s', '5m', '1h'",
                ) from None
        else:
            positive_int("iterations_per_loop", ipl)
        if self.strategy is not None and self.strategy not in STRATEGIES:
            raise ArgsError("strategy", f"{self.strategy!r} is not one of {STRATEGIES}")
        for name in ("module_file", "tpu", "warm_start_from", "checkpoint_dir"):
            text_or_none(name, getattr(self, name))
        if self.seed is not None and (
            isinstance(self.seed, bool) or not isinstance(self.seed, int)
        ):
            raise ArgsError("seed", f"must be an int or None, got {self.seed!r}")
        if not isinstance(self.params, dict):
            raise ArgsError("params", f"must be a dict, got {type(self.params).__name__}")
        if self.use_tpu and (self.replicas > 1 or self.strategy):
            raise ArgsError("use_tpu", "trains on TPU shards (num_shards); drop replicas/strategy")
        if not self.use_tpu and (self.tpu or self.num_shards):
            raise ArgsError("tpu" if self.tpu else "num_shards", "needs use_tpu")
        if self.params:
            from components.trained_model import check_params  # imports TensorFlow

            try:
                check_params(self.params)
            except ValueError as e:
                raise ArgsError("params", str(e).removeprefix("params ")) from None

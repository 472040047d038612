"""Trainer: train a module's model_fn on prepared examples into model_dir (resuming what is there).

Example:
    from components import trainer
    result = trainer.run("out/examples", "out/model", train_steps=1000)
    result.global_step, result.loss
"""

from __future__ import annotations

import dataclasses
import datetime
import logging
import re
import time
from collections.abc import Mapping
from typing import Any

import tensorflow as tf

from components import artifacts, files, module_file, trained_model
from components.files import abspath
from components.trainer import model_dir as model_dir_lib
from components.trainer.strategies import STRATEGIES, make_strategy
from estimator_core import RunConfig, TPUConfig, TPUEstimator
from estimator_core.checks import positive_int

__all__ = ["STRATEGIES", "TrainerResult", "run"]

log = logging.getLogger("tpuest.trainer")
# tf.compat.v1.train.init_from_checkpoint's message when a variable's shape differs.
_SHAPE_MISMATCH = re.compile(
    r"Shape of variable (?P<var>\S+?)(?::\d+)? \((?P<here>.*?)\) doesn't match with shape of "
    r"tensor \S+ \((?P<there>.*?)\) from checkpoint"
)


@dataclasses.dataclass(frozen=True)
class TrainerResult:
    """What `run` produced: the model_dir at `global_step`, and where it came from."""

    model_dir: str
    global_step: int
    loss: float | None
    steps_per_sec: float | None
    examples_dir: str
    module_file: str
    module_sha256: str | None
    params: dict[str, Any]
    started_at_step: int
    duration_secs: float
    finished_at: str
    preempted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def run(
    examples_dir: str,
    model_dir: str,
    *,
    train_steps: int,
    module_file_path: str | None = None,
    train_batch_size: int = 32,
    iterations_per_loop: int | str = 100,
    replicas: int = 1,
    strategy: str | None = None,
    use_tpu: bool = False,
    tpu: str | None = None,
    num_shards: int | None = None,
    warm_start_from: str | None = None,
    params: Mapping[str, Any] | None = None,
    seed: int | None = None,
    save_checkpoints_steps: int | None = None,
    data_dir: str | None = None,
) -> TrainerResult:
    """Trains up to global step `train_steps`; a model_dir with checkpoints is resumed.

    Args:
        examples_dir: the prepare output (Split-train/, schema.json, stats.json).
        model_dir: where checkpoints, events, schema/stats copies and trainer.json go.
        train_steps: the global step to reach (a resumed run trains only the rest).
        module_file_path: a .py path or module name (see components.module_file); None for
            the built-in default model.
        train_batch_size: the global batch size (split across replicas or TPU shards).
        iterations_per_loop: steps per session.run, or a time budget such as "30s".
        replicas, strategy: off TPU, train on `replicas` devices with "mirrored", or across
            the workers of TF_CONFIG with "multi_worker".
        use_tpu, tpu, num_shards: train on the TPU named `tpu` (or TPU_NAME).
        warm_start_from: a previous model_dir or checkpoint to initialize a new model from.
        params: hyperparameter overrides on top of the module's `params`.
        seed: the graph-level random seed.
        save_checkpoints_steps: checkpoint cadence (default: every 600 s and at the end).
        data_dir: where schema.json and stats.json are, when not in examples_dir (a TFX
            ExampleGen output: see components.tfx_data).

    Returns:
        A TrainerResult, also written to model_dir/trainer.json.

    Raises:
        ValueError: a bad argument (naming it); module_file.ModuleFileError for user code.
        RuntimeError: training ended without a checkpoint.
    """
    positive_int("train_steps", train_steps)
    positive_int("train_batch_size", train_batch_size)
    positive_int("replicas", replicas)
    positive_int("num_shards", num_shards, optional=True)
    positive_int("save_checkpoints_steps", save_checkpoints_steps, optional=True)
    if use_tpu and (replicas > 1 or strategy):
        raise ValueError("use_tpu trains on TPU shards (num_shards); drop replicas/strategy")
    if not use_tpu and (tpu or num_shards):
        raise ValueError("tpu and num_shards need use_tpu")
    overrides = trained_model.check_params(params or {})
    module = module_file.load(module_file_path)  # fail on user code before touching model_dir
    train_distribute = None if use_tpu else make_strategy(strategy, replicas)

    started = time.monotonic()
    model_dir_lib.copy_data_files(data_dir or examples_dir, model_dir)
    schema_path = f"{model_dir}/{artifacts.SCHEMA_FILE}"
    from components.schema import Schema

    schema = Schema.load(schema_path)
    if schema.label is None:
        raise ValueError(f"{examples_dir}: the examples have no label column to train on")
    latest = tf.train.latest_checkpoint(model_dir)
    start_step = _step_of(latest)
    if latest:
        log.info("resuming from %s (global_step %d)", latest, start_step)
    config = RunConfig(
        model_dir=model_dir,
        tf_random_seed=seed,
        save_checkpoints_steps=save_checkpoints_steps,
        master=tpu,
        train_distribute=train_distribute,
        tpu_config=TPUConfig(iterations_per_loop=iterations_per_loop, num_shards=num_shards),
    )
    estimator = TPUEstimator(
        model_fn=module.model_fn,
        config=config,
        params=trained_model.resolve_params(module, overrides, model_dir),
        use_tpu=use_tpu,
        train_batch_size=train_batch_size,
        warm_start_from=warm_start_from,
    )
    input_fn = trained_model.make_input_fn(
        module, examples_dir, artifacts.TRAIN_SPLIT, schema, seed=seed
    )
    log.info(
        "training %s to global_step %d (batch %d, %s) into %s",
        module.source,
        train_steps,
        train_batch_size,
        _where(use_tpu, train_distribute, strategy),
        model_dir,
    )
    try:
        estimator.train(input_fn, max_steps=train_steps)
    except ValueError as e:
        mismatch = _SHAPE_MISMATCH.search(str(e)) if warm_start_from else None
        if mismatch is None:
            raise
        raise ValueError(
            f"warm_start_from {warm_start_from}: variable {mismatch['var']} has shape "
            f"{_dims(mismatch['here'])} here but {_dims(mismatch['there'])} in the checkpoint; "
            "warm start needs the same architecture (or --params that keep it)"
        ) from e
    except tf.errors.DataLossError as e:
        # tf.data does not say which file is damaged: find it, and name it.
        from components.data import check_tfrecords

        check_tfrecords(examples_dir, artifacts.TRAIN_SPLIT)
        raise ValueError(f"{examples_dir}: training examples are corrupt: {e.message}") from e
    except tf.errors.InvalidArgumentError as e:
        if "Feature" not in e.message and "Key" not in e.message:
            raise
        lines = [ln.strip() for ln in e.message.splitlines() if "Key" in ln or "Feature" in ln]
        raise ValueError(
            f"{examples_dir}: examples do not match {artifacts.SCHEMA_FILE}: "
            f"{lines[0] if lines else e.message.strip()}"
        ) from e
    finally:
        estimator.close()
    outcome = estimator.last_train_result

    checkpoint = tf.train.latest_checkpoint(model_dir)
    if checkpoint is None:
        raise RuntimeError(f"training finished but wrote no checkpoint into {model_dir}")
    step = _step_of(checkpoint)
    if step < train_steps and not outcome.get("preempted"):
        # The training input repeats: ending early means damaged data (tf.data reads some
        # truncated gzip files as a short, clean stream). Find the file and name it.
        from components.data import check_tfrecords

        check_tfrecords(examples_dir, artifacts.TRAIN_SPLIT)
        log.warning("input ended at global_step %d before train_steps %d", step, train_steps)
    loss = outcome.get("loss")
    if loss is None:  # nothing left to train: keep the loss of the run that got here
        loss = _previous(model_dir).get("loss")
    result = TrainerResult(
        model_dir=abspath(model_dir),
        global_step=step,
        loss=None if loss is None else float(loss),
        steps_per_sec=outcome.get("steps_per_sec"),
        examples_dir=abspath(examples_dir),
        module_file=module.source if module.sha256 is None else abspath(module.source),
        module_sha256=module.sha256,
        params=overrides,
        started_at_step=start_step,
        duration_secs=round(time.monotonic() - started, 3),
        finished_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        preempted=bool(outcome.get("preempted")),
    )
    files.write_json_atomic(
        f"{model_dir}/{artifacts.TRAINER_RESULT_FILE}",
        {**result.to_dict(), "train_steps": train_steps, "train_batch_size": train_batch_size},
    )
    log.info(
        "trained to global_step %d (loss %s) in %.1fs; model at %s",
        step,
        "n/a" if result.loss is None else f"{result.loss:.4f}",
        result.duration_secs,
        model_dir,
    )
    return result


def _step_of(checkpoint: str | None) -> int:
    if checkpoint is None:
        return 0
    from estimator_core.checkpoints import global_step_of

    return global_step_of(checkpoint)


def _dims(shape: str) -> str:
    """'(7, 64)' (a TensorShape) or '[7, 64]' (a checkpoint shape) -> '[7, 64]'."""
    return "[" + ", ".join(re.findall(r"\d+|None", shape)) + "]"


def _previous(model_dir: str) -> dict:
    path = f"{model_dir}/{artifacts.TRAINER_RESULT_FILE}"
    return files.read_json(path, default={})


def _where(use_tpu: bool, strategy, strategy_name: str | None) -> str:
    if use_tpu:
        return "TPU"
    if strategy_name == "multi_worker":
        return "TF_CONFIG workers"
    if strategy is not None:
        return f"{strategy.num_replicas_in_sync} replicas"
    return "one device"

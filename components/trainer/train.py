"""The trainer's work: train a module's model_fn on prepared examples, resuming what is there."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime
import logging
import os
import re
import socket
import time
from typing import Any

import tensorflow as tf

from components import artifacts, checkpoints, files, trained_model
from components import module_file as user_module
from components.files import abspath
from components.schema import Schema
from components.trainer import model_dir as model_dir_lib
from components.trainer.args import TrainerArgs
from components.trainer.strategies import make_strategy
from estimator_core import RunConfig, TPUConfig, TPUEstimator

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
    checkpoint_dir: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def run(
    examples_dir: str,
    model_dir: str,
    args: TrainerArgs | None = None,
    *,
    data_dir: str | None = None,
    **fields: Any,
) -> TrainerResult:
    """Trains up to global step `train_steps`; checkpoints already there are resumed.

    Args:
        examples_dir: the prepare output (Split-train/, schema.json, stats.json).
        model_dir: where events, schema/stats copies and trainer.json go, and the
            checkpoints unless `checkpoint_dir` is set.
        args: the parameters (components.trainer.args.TrainerArgs), or give its fields
            as keywords, e.g. `run(examples, out, train_steps=300, seed=0)`.
        data_dir: where schema.json and stats.json are, when not in examples_dir (a TFX
            ExampleGen output: see components.tfx_data).

    Returns:
        A TrainerResult, also written to model_dir/trainer.json (and beside the
        checkpoints in checkpoint_dir, so a retry that has nothing left to train keeps it).

    Raises:
        ValueError: a bad argument (naming it), an empty train split, or examples that do
            not match the schema; module_file.ModuleFileError for user code.
        RuntimeError: training ended without a checkpoint or without training a step.
    """
    args = dataclasses.replace(args, **fields) if args is not None else TrainerArgs(**fields)
    module = user_module.load(args.module_file)  # fail on user code before touching model_dir
    train_distribute = None if args.use_tpu else make_strategy(args.strategy, args.replicas)
    started = time.monotonic()
    schema = _copy_data_files(examples_dir, data_dir, model_dir)
    where = args.checkpoint_dir or model_dir
    if args.checkpoint_dir:
        _release_earlier_attempt(args.checkpoint_dir)
    latest = checkpoints.latest(where)
    start_step = checkpoints.step_of(latest)
    if latest:
        log.info("resuming from %s (global_step %d)", latest, start_step)
    estimator = _estimator(args, module, model_dir, where, train_distribute)
    log.info(
        "training %s to global_step %d (batch %d, %s) into %s",
        module.source,
        args.train_steps,
        args.train_batch_size,
        _where(args, train_distribute),
        where,
    )
    input_fn = trained_model.make_input_fn(
        module, examples_dir, artifacts.TRAIN_SPLIT, schema, seed=args.seed
    )
    try:
        _train(estimator, input_fn, examples_dir, args)
    finally:
        estimator.close()
    outcome = estimator.last_train_result
    step = _finished_step(where, examples_dir, args, outcome, start_step)
    loss = outcome.get("loss")
    if loss is None:  # nothing left to train: keep the loss of the run that got here
        loss = _previous(where).get("loss")
    result = TrainerResult(
        model_dir=abspath(model_dir),
        global_step=step,
        loss=None if loss is None else float(loss),
        steps_per_sec=outcome.get("steps_per_sec"),
        examples_dir=abspath(examples_dir),
        module_file=module.source if module.sha256 is None else abspath(module.source),
        module_sha256=module.sha256,
        params=dict(args.params),
        started_at_step=start_step,
        duration_secs=round(time.monotonic() - started, 3),
        finished_at=datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        preempted=bool(outcome.get("preempted")),
        checkpoint_dir=abspath(args.checkpoint_dir) if args.checkpoint_dir else None,
    )
    _write_record(result, args, model_dir)
    log.info(
        "trained to global_step %d (loss %s) in %.1fs; model at %s",
        step,
        "n/a" if result.loss is None else f"{result.loss:.4f}",
        result.duration_secs,
        model_dir,
    )
    return result


def _copy_data_files(examples_dir: str, data_dir: str | None, model_dir: str) -> Schema:
    """Copies schema.json / stats.json into model_dir; refuses data there is nothing to learn from."""
    model_dir_lib.copy_data_files(data_dir or examples_dir, model_dir)
    schema = Schema.load(f"{model_dir}/{artifacts.SCHEMA_FILE}")
    if schema.label is None:
        raise ValueError(f"{examples_dir}: the examples have no label column to train on")
    stats = files.read_json(f"{model_dir}/{artifacts.STATS_FILE}")
    rows = stats.get("num_rows", {}).get(artifacts.TRAIN_SPLIT)
    if rows == 0:
        raise ValueError(
            f"{examples_dir}: the {artifacts.TRAIN_SPLIT} split has no examples "
            f"({artifacts.STATS_FILE} num_rows: {stats['num_rows']}); nothing to train on"
        )
    return schema


def _release_earlier_attempt(checkpoint_dir: str) -> None:
    """Removes a writer lock that a process on another host left in checkpoint_dir.

    A checkpoint_dir belongs to one run, and an orchestrator retries a task only after the
    attempt ended: a lock from another host (the dead pod of an earlier attempt, on a shared
    volume) would otherwise stop every retry. The engine takes over a dead process's lock on
    this host by itself.
    """
    from estimator_core.model_dir_lock import LOCK_FILE

    path = os.path.join(checkpoint_dir, LOCK_FILE)
    if not files.is_local(path) or not os.path.exists(path):
        return
    try:
        holder = files.read_json(path)
    except ValueError:
        return  # half-written: the engine judges it
    host = holder.get("host") if isinstance(holder, dict) else None
    if host and host != socket.gethostname():
        log.warning(
            "removing the writer lock of process %s on host %s from %s: an earlier attempt of "
            "this run (a checkpoint_dir belongs to one run)",
            holder.get("pid"),
            host,
            checkpoint_dir,
        )
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)


def _estimator(
    args: TrainerArgs, module, model_dir: str, checkpoint_dir: str, train_distribute
) -> TPUEstimator:
    config = RunConfig(
        model_dir=checkpoint_dir,
        tf_random_seed=args.seed,
        save_checkpoints_steps=args.save_checkpoints_steps,
        loop_timeout_secs=args.loop_timeout_secs,
        master=args.tpu,
        train_distribute=train_distribute,
        tpu_config=TPUConfig(
            iterations_per_loop=args.iterations_per_loop, num_shards=args.num_shards
        ),
    )
    return TPUEstimator(
        model_fn=module.model_fn,
        config=config,
        params=trained_model.resolve_params(module, args.params, model_dir),
        use_tpu=args.use_tpu,
        train_batch_size=args.train_batch_size,
        warm_start_from=args.warm_start_from,
    )


def _train(estimator: TPUEstimator, input_fn, examples_dir: str, args: TrainerArgs) -> None:
    """estimator.train, with TensorFlow's errors about the data or warm start made specific."""
    try:
        estimator.train(input_fn, max_steps=args.train_steps)
    except ValueError as e:
        mismatch = _SHAPE_MISMATCH.search(str(e)) if args.warm_start_from else None
        if mismatch is None:
            raise
        raise ValueError(
            f"warm_start_from {args.warm_start_from}: variable {mismatch['var']} has shape "
            f"{_dims(mismatch['here'])} here but {_dims(mismatch['there'])} in the checkpoint; "
            "warm start needs the same architecture (or --params that keep it)"
        ) from e
    except tf.errors.DeadlineExceededError as e:
        if args.loop_timeout_secs is None:
            raise
        raise RuntimeError(
            f"a host loop of {args.iterations_per_loop} step(s) ran longer than "
            f"loop_timeout_secs {args.loop_timeout_secs:g}: the training input of "
            f"{examples_dir} yields nothing (a filter that drops every row, a stalled read) "
            "or a step hangs; no checkpoint was saved for the unfinished loop"
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


def _finished_step(
    checkpoint_dir: str, examples_dir: str, args: TrainerArgs, outcome: dict, start_step: int
) -> int:
    """The global step of the checkpoint training left; fails when training did not happen."""
    checkpoint = checkpoints.latest(checkpoint_dir)
    if checkpoint is None:
        raise RuntimeError(f"training finished but wrote no checkpoint into {checkpoint_dir}")
    step = checkpoints.step_of(checkpoint)
    if step >= args.train_steps or outcome.get("preempted"):
        return step
    # The training input repeats: ending early means damaged data (tf.data reads some
    # truncated gzip files as a short, clean stream), or an input that yields nothing.
    from components.data import check_tfrecords

    check_tfrecords(examples_dir, artifacts.TRAIN_SPLIT)
    if step == start_step:
        raise RuntimeError(
            f"the training input of {examples_dir} yielded no batch: global_step stayed at "
            f"{step} (train_steps {args.train_steps}); is the {artifacts.TRAIN_SPLIT} split "
            "empty, or does the module's input_fn filter every example?"
        )
    log.warning("input ended at global_step %d before train_steps %d", step, args.train_steps)
    return step


def _write_record(result: TrainerResult, args: TrainerArgs, model_dir: str) -> None:
    record = {
        **result.to_dict(),
        "train_steps": args.train_steps,
        "train_batch_size": args.train_batch_size,
    }
    files.write_json_atomic(f"{model_dir}/{artifacts.TRAINER_RESULT_FILE}", record)
    if args.checkpoint_dir:
        files.write_json_atomic(f"{args.checkpoint_dir}/{artifacts.TRAINER_RESULT_FILE}", record)


def _dims(shape: str) -> str:
    """'(7, 64)' (a TensorShape) or '[7, 64]' (a checkpoint shape) -> '[7, 64]'."""
    return "[" + ", ".join(re.findall(r"\d+|None", shape)) + "]"


def _previous(checkpoint_dir: str) -> dict:
    return files.read_json(f"{checkpoint_dir}/{artifacts.TRAINER_RESULT_FILE}", default={})


def _where(args: TrainerArgs, strategy) -> str:
    if args.use_tpu:
        return "TPU"
    if args.strategy == "multi_worker":
        return "TF_CONFIG workers"
    if strategy is not None:
        return f"{strategy.num_replicas_in_sync} replicas"
    return "one device"

"""The Trainer's TFX face: `run_fn(fn_args)` for `tfx.components.Trainer(run_fn=...)`.

TFX unpacks its artifacts into `FnArgs`; this unpacks FnArgs once into our trainer's arguments
and calls `components.trainer.run`, then evaluates and writes the serving SavedModel:

    * checkpoints, TensorBoard events (train and eval/), trainer.json and the schema.json /
      stats.json copies go to `fn_args.model_run_dir`, which is a complete model dir for our
      evaluator and exporter; a retried Trainer resumes from the checkpoints there;
    * the SavedModel (signature `serving_default` on serialized tf.Examples, and
      `classification` for TFMA with string labels) goes directly into
      `fn_args.serving_model_dir`, where TFX's Evaluator and Pusher read it;
    * `fn_args.base_model` (a previous Trainer's serving model) warm-starts a new model;
    * `fn_args.schema_path` (SchemaGen's schema.pbtxt) gives the column types; without it the
      examples must be a prepare output (schema.json, stats.json).

`custom_config` (every key optional; an unknown key is an error):

    label: the label column (required with a schema.pbtxt, which has no label);
    model_module: a .py path or module name with `model_fn` (components.module_file's
        contract); default: our tabular model (components.default_model);
    eval_batch_size (64): the batch of the evaluation run_fn runs after training;
    every other TrainerArgs field but those in TFX_SETS (params, train_batch_size,
    iterations_per_loop, seed, save_checkpoints_steps, loop_timeout_secs, checkpoint_dir,
    replicas, strategy, use_tpu, tpu, num_shards): as for `components.trainer.run`.

Example:
    from tfx import v1 as tfx
    trainer = tfx.components.Trainer(
        run_fn="components.trainer.tfx.run_fn",
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=300),
        eval_args=tfx.proto.EvalArgs(num_steps=None),
        custom_config={"label": "species"},
    )
"""

from __future__ import annotations

import logging
import posixpath
import shutil
from typing import Any

import tensorflow as tf

from components import artifacts, step_args, tfx_data
from components.trainer.args import TrainerArgs
from components.trainer.train import run as train
from estimator_core.checks import positive_int

log = logging.getLogger("tpuest.trainer")
# TrainerArgs fields that TFX sets through FnArgs instead of custom_config, and why.
TFX_SETS = {
    "train_steps": "TFX's TrainArgs(num_steps=N) gives fn_args.train_steps",
    "warm_start_from": "TFX's base_model channel gives fn_args.base_model",
    "module_file": "custom_config's model_module (TFX's Trainer has a module_file of its own)",
}
_TRAIN_ARGS = tuple(name for name in step_args.fields(TrainerArgs) if name not in TFX_SETS)
CUSTOM_CONFIG_KEYS = ("label", "model_module", "eval_batch_size", *_TRAIN_ARGS)
DATA_DIR = "data"  # under model_run_dir: the schema.json / stats.json made for the examples


def _examples_dir(patterns, split: str, field: str) -> str:
    """The examples artifact behind FnArgs file patterns like URI/Split-train/*."""
    if isinstance(patterns, str):
        patterns = [patterns]
    if not patterns or len(patterns) != 1:
        raise ValueError(
            f"fn_args.{field} must name one examples artifact, got {patterns!r} "
            "(give the Trainer a single examples channel)"
        )
    split_dir = posixpath.dirname(patterns[0].rstrip("/"))
    expected = artifacts.SPLIT_PREFIX + split
    if posixpath.basename(split_dir) != expected:
        raise ValueError(
            f"fn_args.{field} {patterns[0]!r} is not a {expected}/ directory: our trainer "
            f"trains on the '{artifacts.TRAIN_SPLIT}' split and evaluates on "
            f"'{artifacts.EVAL_SPLIT}' (set no custom splits in train_args / eval_args)"
        )
    return posixpath.dirname(split_dir)


def _custom_config(fn_args) -> dict[str, Any]:
    config = dict(getattr(fn_args, "custom_config", None) or {})
    unknown = sorted(set(config) - set(CUSTOM_CONFIG_KEYS))
    if unknown:
        raise ValueError(
            f"custom_config has unknown keys {unknown}; allowed: {sorted(CUSTOM_CONFIG_KEYS)}"
        )
    return config


def _positive_steps(name: str, value) -> int | None:
    if value in (None, 0):  # TFX's "not set"
        return None
    return positive_int(f"fn_args.{name}", value)


def _warm_start_checkpoint(base_model: str | None) -> str | None:
    """A previous Trainer's serving SavedModel -> its variables checkpoint (by variable name)."""
    if not base_model:
        return None
    checkpoint = posixpath.join(base_model, "variables", "variables")
    if not tf.io.gfile.exists(checkpoint + ".index"):
        raise FileNotFoundError(
            f"fn_args.base_model {base_model}: no SavedModel variables ({checkpoint}.index)"
        )
    return checkpoint


def _place_saved_model(version_dir: str, serving_model_dir: str) -> None:
    """Moves an exported SavedModel into serving_model_dir (replacing a retried attempt's)."""
    if tf.io.gfile.exists(serving_model_dir):
        tf.io.gfile.rmtree(serving_model_dir)
    tf.io.gfile.makedirs(posixpath.dirname(serving_model_dir.rstrip("/")))
    if "://" not in serving_model_dir:
        shutil.move(version_dir, serving_model_dir)  # a rename, or a copy across devices
        return
    # Object stores cannot rename a directory: copy file by file, saved_model.pb last.
    deferred = []
    for folder, _, names in tf.io.gfile.walk(version_dir):
        relative = folder[len(version_dir) :].strip("/")
        target_folder = (
            f"{serving_model_dir.rstrip('/')}/{relative}" if relative else serving_model_dir
        )
        tf.io.gfile.makedirs(target_folder)
        for name in names:
            pair = (posixpath.join(folder, name), posixpath.join(target_folder, name))
            if name.startswith("saved_model."):
                deferred.append(pair)
            else:
                tf.io.gfile.copy(*pair, overwrite=True)
    for source, target in deferred:
        tf.io.gfile.copy(source, target, overwrite=True)
    tf.io.gfile.rmtree(version_dir)


def run_fn(fn_args) -> None:
    """Trains, evaluates and exports the model TFX's Trainer asks for (see the module doc).

    Raises:
        ValueError: a bad FnArgs field or custom_config key (naming it), or bad user code.
        FileNotFoundError: a base_model without variables, or examples without a schema.
    """
    config = _custom_config(fn_args)
    train_steps = _positive_steps("train_steps", fn_args.train_steps)
    if train_steps is None:
        raise ValueError("fn_args.train_steps must be set (TrainArgs(num_steps=N))")
    eval_steps = _positive_steps("eval_steps", getattr(fn_args, "eval_steps", None))
    examples_dir = _examples_dir(fn_args.train_files, artifacts.TRAIN_SPLIT, "train_files")
    if fn_args.eval_files:
        eval_dir = _examples_dir(fn_args.eval_files, artifacts.EVAL_SPLIT, "eval_files")
        if eval_dir != examples_dir:
            raise ValueError(
                f"fn_args.eval_files come from {eval_dir}, train_files from {examples_dir}: "
                "our trainer reads both splits of one examples artifact"
            )
    model_dir = fn_args.model_run_dir
    data_dir = tfx_data.write_data_files(
        examples_dir,
        f"{model_dir}/{DATA_DIR}",
        schema_pbtxt=getattr(fn_args, "schema_path", None),
        label=config.get("label"),
    )
    args = TrainerArgs(
        train_steps=train_steps,
        module_file=config.get("model_module"),
        warm_start_from=_warm_start_checkpoint(getattr(fn_args, "base_model", None)),
        **{key: config[key] for key in _TRAIN_ARGS if key in config},
    )
    result = train(examples_dir, model_dir, args, data_dir=data_dir)
    from components import trained_model
    from components.serving import receiver_fn_for

    model = trained_model.load(model_dir)
    batch_size = config.get("eval_batch_size", 64)
    estimator = model.estimator(batch_size=batch_size)  # eval events under model_dir/eval
    try:
        if fn_args.eval_files:
            metrics = estimator.evaluate(
                model.input_fn(examples_dir, artifacts.EVAL_SPLIT), steps=eval_steps
            )
            log.info("eval at global_step %d: %s", result.global_step, _brief(metrics))
        scratch = f"{model_dir}/export-tmp"
        version_dir = estimator.export_saved_model(
            scratch, receiver_fn_for(model), checkpoint_path=model.latest_checkpoint()
        )
    finally:
        estimator.close()
    if isinstance(version_dir, bytes):
        version_dir = version_dir.decode()
    _place_saved_model(version_dir, fn_args.serving_model_dir)
    if tf.io.gfile.exists(scratch):
        tf.io.gfile.rmtree(scratch)
    log.info("serving model for TFX at %s", fn_args.serving_model_dir)


def _brief(metrics: dict) -> str:
    return ", ".join(f"{k} = {float(v):.4f}" for k, v in sorted(metrics.items()))

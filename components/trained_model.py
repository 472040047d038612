"""A trained model_dir loaded back: its module, params and schema, and estimators built on them.

The trainer copies the prepare step's schema.json and stats.json into model_dir and writes
trainer.json (module file, params, result), so the evaluator and exporter need only model_dir.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

from components import artifacts, checkpoints, files, module_file
from components.schema import Schema
from estimator_core import RunConfig, TPUEstimator
from estimator_core.context import RESERVED_PARAMS

DATA_FILES = (artifacts.SCHEMA_FILE, artifacts.STATS_FILE)


def check_params(overrides: Mapping[str, Any]) -> dict[str, Any]:
    """Refuses keys the engine or the components set themselves."""
    reserved = sorted(set(overrides) & set(RESERVED_PARAMS + module_file.INJECTED_PARAMS))
    if reserved:
        raise ValueError(f"params must not set {reserved}: the engine or the components set them")
    return dict(overrides)


def resolve_params(
    module: module_file.UserModule, overrides: Mapping[str, Any], model_dir: str
) -> dict[str, Any]:
    """The module's params, then the overrides, then the data file paths in model_dir."""
    return {
        **module.params,
        **check_params(overrides),
        "schema_path": f"{model_dir}/{artifacts.SCHEMA_FILE}",
        "stats_path": f"{model_dir}/{artifacts.STATS_FILE}",
    }


@dataclasses.dataclass(frozen=True)
class TrainedModel:
    """A model_dir with its module, params and schema, ready to build estimators on."""

    model_dir: str
    module: module_file.UserModule
    params: dict[str, Any]
    schema: Schema
    record: dict[str, Any]  # trainer.json ({} when absent)

    @property
    def checkpoint_dir(self) -> str:
        """Where the checkpoints are: the trainer's durable checkpoint_dir, else model_dir."""
        return self.record.get("checkpoint_dir") or self.model_dir

    def latest_checkpoint(self) -> str:
        """The newest checkpoint in checkpoint_dir (FileNotFoundError when there is none)."""
        found = checkpoints.latest(self.checkpoint_dir)
        if found is None:
            raise FileNotFoundError(f"no checkpoint in {self.checkpoint_dir}: train it first")
        return found

    def estimator(
        self, *, batch_size: int = 64, work_dir: str | None = None, config: RunConfig | None = None
    ) -> TPUEstimator:
        """A one-device TPUEstimator for evaluation, prediction and export.

        With `work_dir`, the estimator's model_dir is that directory (eval summaries go there;
        pass checkpoint paths from self.checkpoint_dir explicitly), so model_dir stays untouched.
        """
        config = (config or RunConfig()).replace(model_dir=work_dir or self.checkpoint_dir)
        return TPUEstimator(
            model_fn=self.module.model_fn,
            config=config,
            params=self.params,
            use_tpu=False,
            train_batch_size=batch_size,
            eval_batch_size=batch_size,
            predict_batch_size=batch_size,
        )

    def input_fn(self, examples_dir: str, split: str, *, seed: int | None = None) -> Callable:
        return make_input_fn(self.module, examples_dir, split, self.schema, seed=seed)


def load(
    model_dir: str, module_source: str | None = None, params: Mapping | None = None
) -> TrainedModel:
    """Rebuilds what the trainer used for `model_dir` (module and params from trainer.json).

    Args:
        model_dir: a trainer output with checkpoints.
        module_source: overrides the module recorded in trainer.json.
        params: override keys on top of the recorded params.

    Checkpoints are read from the checkpoint_dir trainer.json records (a durable location
    the trainer wrote to directly), else from model_dir.

    Raises:
        FileNotFoundError: no checkpoint, or model_dir lacks schema.json / stats.json.
    """
    record_path = f"{model_dir}/{artifacts.TRAINER_RESULT_FILE}"
    record = files.read_json(record_path, default={}) if tf.io.gfile.exists(model_dir) else {}
    where = record.get("checkpoint_dir") or model_dir
    if checkpoints.latest(where) is None:
        what = "checkpoint_dir" if record.get("checkpoint_dir") else "model_dir"
        raise FileNotFoundError(f"no checkpoint in {what} {where}: train it first")
    for name in DATA_FILES:
        if not tf.io.gfile.exists(f"{model_dir}/{name}"):
            raise FileNotFoundError(
                f"{model_dir}/{name} not found: model_dir was not written by `tpuest train`"
            )
    module = module_file.load(module_source or record.get("module_file") or None)
    merged = {**record.get("params", {}), **dict(params or {})}
    return TrainedModel(
        model_dir=model_dir,
        module=module,
        params=resolve_params(module, merged, model_dir),
        schema=Schema.load(f"{model_dir}/{artifacts.SCHEMA_FILE}"),
        record=record,
    )


def make_input_fn(
    module: module_file.UserModule,
    examples_dir: str,
    split: str,
    schema: Schema,
    *,
    seed: int | None = None,
) -> Callable:
    """The module's make_input_fn if it has one, else components.data.make_input_fn."""
    training = split == artifacts.TRAIN_SPLIT
    if module.make_input_fn is not None:
        return module.call_make_input_fn(
            examples_dir=examples_dir,
            split=split,
            schema=schema,
            label=schema.label,
            training=training,
            seed=seed,
        )
    from components import data

    return data.make_input_fn(examples_dir, split, schema, schema.label, seed=seed)

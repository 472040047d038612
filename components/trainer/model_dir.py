"""What a trained model_dir holds besides checkpoints, and how every step rebuilds its estimator.

The trainer copies the prepare step's schema.json and stats.json into model_dir and writes
trainer.json (module file, params, result), so the evaluator and exporter need only model_dir.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import tensorflow as tf

from components import artifacts, module_file
from components.schema import Schema
from estimator_core import RunConfig, TPUEstimator
from estimator_core.context import RESERVED_PARAMS

log = logging.getLogger("tpuest.trainer")
DATA_FILES = (artifacts.SCHEMA_FILE, artifacts.STATS_FILE)


def write_atomic(path: str, text: str) -> None:
    """Writes `text` to a temporary sibling, then renames it over `path`."""
    temp = f"{path}.tmp-{uuid.uuid4().hex[:8]}"
    with tf.io.gfile.GFile(temp, "w") as f:
        f.write(text)
    tf.io.gfile.rename(temp, path, overwrite=True)


def write_json_atomic(path: str, data: Any) -> None:
    write_atomic(path, json.dumps(data, indent=2, sort_keys=True, default=_jsonable) + "\n")


def _jsonable(value):
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def read_json(path: str) -> dict:
    if not tf.io.gfile.exists(path):
        raise FileNotFoundError(f"{path} not found")
    with tf.io.gfile.GFile(path) as f:
        try:
            return json.loads(f.read())
        except json.JSONDecodeError as e:
            raise ValueError(f"{path}: not valid JSON: {e}") from e


def copy_data_files(examples_dir: str, model_dir: str) -> None:
    """Copies schema.json and stats.json into model_dir; on resume keeps the ones trained with."""
    tf.io.gfile.makedirs(model_dir)
    for name in DATA_FILES:
        source, target = f"{examples_dir}/{name}", f"{model_dir}/{name}"
        if not tf.io.gfile.exists(source):
            raise FileNotFoundError(f"{source} not found: is {examples_dir} a prepare output?")
        with tf.io.gfile.GFile(source) as f:
            text = f.read()
        if tf.io.gfile.exists(target):
            with tf.io.gfile.GFile(target) as f:
                if f.read() != text:
                    log.warning(
                        "%s differs from %s; keeping the one this model was trained with",
                        target,
                        source,
                    )
            continue
        write_atomic(target, text)


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

    def estimator(
        self, *, batch_size: int = 64, work_dir: str | None = None, config: RunConfig | None = None
    ) -> TPUEstimator:
        """A one-device TPUEstimator for evaluation, prediction and export.

        With `work_dir`, the estimator's model_dir is that directory (eval summaries go there;
        pass checkpoint paths from self.model_dir explicitly), so model_dir stays untouched.
        """
        config = (config or RunConfig()).replace(model_dir=work_dir or self.model_dir)
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

    Raises:
        FileNotFoundError: model_dir has no checkpoint or lacks schema.json / stats.json.
    """
    if not tf.io.gfile.exists(model_dir) or tf.train.latest_checkpoint(model_dir) is None:
        raise FileNotFoundError(f"no checkpoint in model_dir {model_dir}: train it first")
    for name in DATA_FILES:
        if not tf.io.gfile.exists(f"{model_dir}/{name}"):
            raise FileNotFoundError(
                f"{model_dir}/{name} not found: model_dir was not written by `tpuest train`"
            )
    record_path = f"{model_dir}/{artifacts.TRAINER_RESULT_FILE}"
    record = read_json(record_path) if tf.io.gfile.exists(record_path) else {}
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


def abspath(path: str) -> str:
    """Local paths made absolute (recorded paths stay valid from another cwd); URLs unchanged."""
    return path if "://" in path else os.path.abspath(path)

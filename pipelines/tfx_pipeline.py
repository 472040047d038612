"""The TFX pipeline: CsvExampleGen -> StatisticsGen -> SchemaGen -> our Trainer -> Evaluator -> Pusher.

The Trainer is TFX's own component with our `run_fn` (components.trainer.tfx): it trains a
TPUEstimator `model_fn` (our tabular model unless `custom_config["model_module"]` names one).
The Evaluator gates the model with a TFMA config built from our threshold syntax
(components.evaluator.tfma_config) against the latest blessed model, and the Pusher copies
a blessed model into `serving_dir/<version>/` (the layout our exporter writes too).

Example:
    pipeline = create_pipeline(pipeline_root="out/tfx/root", data_root="out/tfx/data",
                               serving_dir="out/tfx/serving",
                               metadata_path="out/tfx/metadata.sqlite")
    tfx.orchestration.LocalDagRunner().run(pipeline)
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

from tfx import v1 as tfx

from components.evaluator.tfma_config import tfma_eval_config
from estimator_core.checks import positive_int

PIPELINE_NAME = "tpuest-tfx-penguins"
RUN_FN = "components.trainer.tfx.run_fn"
LABEL = "species"
_NAME = re.compile(r"^[a-z0-9][a-z0-9-]*$")
# What the embedded penguins CSV writes for a missing value; CsvExampleGen reads an empty
# field as missing but "NA" as a string, which would turn every numeric column into text.
_MISSING = "NA"


def stage_penguins(data_root: str) -> str:
    """Writes the embedded penguins CSV into `data_root` with NA cells left empty; returns
    the file. CsvExampleGen reads every CSV file in `data_root`."""
    from components.datasets import penguins_csv

    os.makedirs(data_root, exist_ok=True)
    target = os.path.join(data_root, "penguins.csv")
    with open(penguins_csv(), newline="") as source, open(target, "w", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        for row in csv.reader(source):
            writer.writerow(["" if cell == _MISSING else cell for cell in row])
    return target


def create_pipeline(
    *,
    pipeline_root: str,
    data_root: str,
    serving_dir: str,
    metadata_path: str | None = None,
    pipeline_name: str = PIPELINE_NAME,
    label: str = LABEL,
    train_steps: int = 300,
    eval_steps: int | None = None,
    thresholds: Sequence[str] = ("accuracy>=0.9",),
    compare_metric: str = "accuracy",
    tolerance: float = 0.0,
    custom_config: Mapping[str, Any] | None = None,
    beam_pipeline_args: Sequence[str] = (),
    enable_cache: bool = False,
) -> tfx.dsl.Pipeline:
    """The TFX pipeline over the CSV files in `data_root`.

    Args:
        pipeline_root: where every component's artifacts go.
        data_root: a directory of CSV files (header row) holding the `label` column.
        serving_dir: the Pusher's base directory (blessed models go to <version>/ in it).
        metadata_path: the SQLite MLMD file for local runs (None when the orchestrator
            provides metadata, as on Kubeflow).
        pipeline_name: lowercase letters, digits and dashes (Kubeflow's rule).
        label, train_steps, eval_steps: the Trainer's label column and steps (eval_steps
            None: the whole eval split).
        thresholds, compare_metric, tolerance: our blessing rules (see
            components.evaluator.tfma_config); the baseline is the latest blessed model.
        custom_config: more run_fn settings (components.trainer.tfx), e.g. model_module.
        beam_pipeline_args: Beam options for ExampleGen, StatisticsGen and the Evaluator.
        enable_cache: reuse component outputs of earlier runs with the same inputs.

    Raises:
        ValueError: a bad pipeline name, step count or blessing rule.
    """
    if not _NAME.match(pipeline_name):
        raise ValueError(
            f"pipeline_name {pipeline_name!r} must match {_NAME.pattern} (Kubeflow's rule)"
        )
    positive_int("train_steps", train_steps)
    eval_config = tfma_eval_config(
        thresholds, label_key=label, compare_metric=compare_metric, tolerance=tolerance
    )
    example_gen = tfx.components.CsvExampleGen(input_base=data_root)
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.SchemaGen(statistics=statistics_gen.outputs["statistics"])
    trainer = tfx.components.Trainer(
        run_fn=RUN_FN,
        examples=example_gen.outputs["examples"],
        schema=schema_gen.outputs["schema"],
        train_args=tfx.proto.TrainArgs(num_steps=train_steps),
        eval_args=tfx.proto.EvalArgs(num_steps=eval_steps),
        custom_config={"label": label, **dict(custom_config or {})},
    )
    baseline = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("latest_blessed_model_resolver")
    evaluator = tfx.components.Evaluator(
        examples=example_gen.outputs["examples"],
        model=trainer.outputs["model"],
        baseline_model=baseline.outputs["model"],
        eval_config=eval_config,
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_dir)
        ),
    )
    metadata = (
        tfx.orchestration.metadata.sqlite_metadata_connection_config(metadata_path)
        if metadata_path
        else None
    )
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[
            example_gen,
            statistics_gen,
            schema_gen,
            trainer,
            baseline,
            evaluator,
            pusher,
        ],
        enable_cache=enable_cache,
        metadata_connection_config=metadata,
        beam_pipeline_args=list(beam_pipeline_args),
    )

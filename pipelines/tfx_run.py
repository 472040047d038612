"""`python -m pipelines.tfx_run local|compile`: run the TFX pipeline here, or compile it for Kubeflow.

    python -m pipelines.tfx_run local --root out/tfx
        stages the embedded penguins CSV in out/tfx/data, runs the pipeline on LocalDagRunner
        (artifacts in out/tfx/pipeline, MLMD in out/tfx/metadata.sqlite, pushed models in
        out/tfx/serving/<version>/); a second run is judged against the latest blessed model.
    python -m pipelines.tfx_run compile --output tfx_pipeline.json \\
        --pipeline-root gs://bucket/tfx --data-root gs://bucket/penguins --serving-dir gs://bucket/serving
        writes the Kubeflow Pipelines v2 IR JSON (KubeflowV2DagRunner) using the project image.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from collections.abc import Sequence

log = logging.getLogger("tpuest.tfx")


@dataclasses.dataclass(frozen=True)
class LocalRunResult:
    """What one local run decided: the Evaluator's blessing and the version pushed (if any)."""

    root: str
    blessed: bool
    blessing_dir: str
    pushed_dir: str | None
    model_run_dir: str  # the Trainer's checkpoints and TensorBoard events (a model dir of ours)
    examples_dir: str


def _newest_output(pipeline_root: str, component: str, key: str) -> str:
    """The newest artifact directory of a component's output (TFX names them by id)."""
    base = os.path.join(pipeline_root, component, key)
    ids = [int(n) for n in os.listdir(base) if n.isdigit()] if os.path.isdir(base) else []
    if not ids:
        raise RuntimeError(f"the run left no {component} {key} artifact under {base}")
    return os.path.join(base, str(max(ids)))


def _versions(serving_dir: str) -> set[str]:
    return set(os.listdir(serving_dir)) if os.path.isdir(serving_dir) else set()


def run_local(
    root: str, *, train_steps: int = 300, thresholds: Sequence[str] = ("accuracy>=0.9",), **kw
) -> LocalRunResult:
    """Runs the pipeline on the embedded penguins data under `root` with LocalDagRunner.

    Keyword arguments beyond these go to pipelines.tfx_pipeline.create_pipeline.
    """
    from tfx import v1 as tfx

    from components import artifacts
    from pipelines.tfx_pipeline import create_pipeline, stage_penguins

    root = os.path.abspath(root)
    data_root, serving_dir = os.path.join(root, "data"), os.path.join(root, "serving")
    pipeline_root = os.path.join(root, "pipeline")
    stage_penguins(data_root)
    before = _versions(serving_dir)
    pipeline = create_pipeline(
        pipeline_root=pipeline_root,
        data_root=data_root,
        serving_dir=serving_dir,
        metadata_path=os.path.join(root, "metadata.sqlite"),
        train_steps=train_steps,
        thresholds=thresholds,
        beam_pipeline_args=["--direct_running_mode=in_memory", "--direct_num_workers=1"],
        **kw,
    )
    tfx.orchestration.LocalDagRunner().run(pipeline)
    blessing_dir = _newest_output(pipeline_root, "Evaluator", "blessing")
    pushed = sorted(_versions(serving_dir) - before)
    return LocalRunResult(
        root=root,
        blessed=os.path.exists(os.path.join(blessing_dir, artifacts.BLESSED)),
        blessing_dir=blessing_dir,
        pushed_dir=os.path.join(serving_dir, pushed[-1]) if pushed else None,
        model_run_dir=_newest_output(pipeline_root, "Trainer", "model_run"),
        examples_dir=_newest_output(pipeline_root, "CsvExampleGen", "examples"),
    )


def compile_kubeflow(
    output: str,
    *,
    pipeline_root: str,
    data_root: str,
    serving_dir: str,
    image: str | None = None,
    **kw,
) -> str:
    """Writes the pipeline's Kubeflow Pipelines v2 IR JSON to `output`; returns the path."""
    from tfx import v1 as tfx

    from components.image import image as project_image
    from pipelines.tfx_pipeline import create_pipeline

    pipeline = create_pipeline(
        pipeline_root=pipeline_root, data_root=data_root, serving_dir=serving_dir, **kw
    )
    directory = os.path.dirname(os.path.abspath(output))
    os.makedirs(directory, exist_ok=True)
    runner = tfx.orchestration.experimental.KubeflowV2DagRunner(
        config=tfx.orchestration.experimental.KubeflowV2DagRunnerConfig(
            default_image=image or project_image()
        ),
        output_dir=directory,
        output_filename=os.path.basename(output),
    )
    runner.run(pipeline, write_out=True)
    return os.path.join(directory, os.path.basename(output))


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.tfx_run",
        description="Run the TFX pipeline locally, or compile it for Kubeflow Pipelines v2.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("local", "run on LocalDagRunner over the embedded penguins data"),
        ("compile", "write the KubeflowV2DagRunner IR JSON"),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--train-steps", type=int, default=300)
        p.add_argument(
            "--threshold",
            action="append",
            dest="thresholds",
            help='a blessing rule such as "accuracy>=0.9" (repeatable; default that one)',
        )
        p.add_argument("--tolerance", type=float, default=0.0)
        p.add_argument("--model-module", help="a model module (default: the tabular model)")
        if name == "local":
            p.add_argument("--root", required=True, help="the run directory (reused by reruns)")
        else:
            p.add_argument("--output", required=True, help="the IR JSON file to write")
            p.add_argument("--pipeline-root", required=True)
            p.add_argument("--data-root", required=True, help="a directory of CSV files")
            p.add_argument("--serving-dir", required=True, help="the Pusher's base directory")
            p.add_argument("--image", help="default: the project image (TPUEST_IMAGE)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    common = {
        "train_steps": args.train_steps,
        "thresholds": args.thresholds or ["accuracy>=0.9"],
        "tolerance": args.tolerance,
        "custom_config": {"model_module": args.model_module} if args.model_module else None,
    }
    try:
        if args.command == "local":
            result = run_local(args.root, **common)
            print(f"{'BLESSED' if result.blessed else 'NOT BLESSED'}: {result.blessing_dir}")
            print(f"pushed: {result.pushed_dir}" if result.pushed_dir else "pushed: nothing")
            print(f"model run (tensorboard --logdir): {result.model_run_dir}")
        else:
            path = compile_kubeflow(
                args.output,
                pipeline_root=args.pipeline_root,
                data_root=args.data_root,
                serving_dir=args.serving_dir,
                image=args.image,
                **common,
            )
            print(f"compiled {path}")
    except ValueError as e:
        print(f"tfx_run {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""`tpuest train`: parse arguments and call components.trainer.run."""

from __future__ import annotations

import argparse

from components.cli import (
    UsageError,
    checkpoint_path,
    existing_dir,
    key_values,
    nonempty,
    output_dir,
    positive_int,
)
from estimator_core.check_model import module_source

EXAMPLE = """example:
  tpuest train --examples out/examples --model-dir out/model --train-steps 1000
  tpuest train --examples out/examples --model-dir out/model2 --train-steps 2000 \\
      --warm-start-from out/model --params learning_rate=0.003 --replicas 2 --seed 7
  tpuest train --examples out/examples --model-dir out/custom --train-steps 1000 \\
      --module-file my_model.py --params hidden_units=[64,32]

The module file defines model_fn (and optionally params, serving_input_receiver_fn,
make_input_fn); see docs/components.md. Without one, the built-in tabular classifier
(components.default_model) is trained from the examples' schema.json and stats.json.
A model dir that already holds checkpoints is resumed up to --train-steps.
--warm-start-from initializes a new model dir from a model of the same architecture.
"""


def _iterations(text: str) -> int | str:
    if text.isdigit():
        return positive_int(text)
    from estimator_core.config import parse_time_budget

    try:
        parse_time_budget(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model_fn (module file or the built-in model) on prepared examples",
        description="Train into --model-dir (checkpoints, TensorBoard events, trainer.json); "
        "resumes a model dir that holds checkpoints.",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--examples", type=existing_dir, required=True, help="the prepare output directory"
    )
    parser.add_argument("--model-dir", type=output_dir, required=True, help="checkpoints go here")
    parser.add_argument(
        "--module-file",
        type=module_source,
        help=".py path or module name with model_fn (default: built-in model)",
    )
    parser.add_argument("--train-steps", type=positive_int, required=True, help="global step")
    parser.add_argument("--train-batch-size", type=positive_int, default=32, help="global batch")
    parser.add_argument(
        "--iterations-per-loop",
        type=_iterations,
        default=100,
        help="steps per session.run, or a time budget like 30s (default: %(default)s)",
    )
    parser.add_argument(
        "--replicas", type=positive_int, default=1, help="devices to mirror over (off TPU)"
    )
    parser.add_argument(
        "--strategy",
        choices=("mirrored", "multi_worker"),
        help="mirrored (default with --replicas > 1) or multi_worker (workers from TF_CONFIG)",
    )
    parser.add_argument("--use-tpu", action="store_true", help="train on a TPU")
    parser.add_argument(
        "--tpu", type=nonempty, help="TPU name or grpc:// address (default: $TPU_NAME)"
    )
    parser.add_argument("--num-shards", type=positive_int, help="TPU cores to shard over")
    parser.add_argument(
        "--warm-start-from", type=checkpoint_path, help="a previous model dir or checkpoint"
    )
    parser.add_argument(
        "--params",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="hyperparameter override, repeatable; VALUE is JSON or a string",
    )
    parser.add_argument("--seed", type=int, help="graph-level random seed")
    parser.add_argument(
        "--save-checkpoints-steps", type=positive_int, help="default: every 600 s and at the end"
    )
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    params = key_values(args.params, "--params")
    if (args.tpu or args.num_shards) and not args.use_tpu:
        raise UsageError("train: --tpu and --num-shards need --use-tpu")
    if args.use_tpu and (args.replicas > 1 or args.strategy):
        raise UsageError("train: --use-tpu shards with --num-shards; drop --replicas/--strategy")
    from components import trainer
    from components.trained_model import check_params

    try:
        check_params(params)
    except ValueError as e:
        raise UsageError(f"train: --params: {e}") from None
    result = trainer.run(
        args.examples,
        args.model_dir,
        train_steps=args.train_steps,
        module_file_path=args.module_file,
        train_batch_size=args.train_batch_size,
        iterations_per_loop=args.iterations_per_loop,
        replicas=args.replicas,
        strategy=args.strategy,
        use_tpu=args.use_tpu,
        tpu=args.tpu,
        num_shards=args.num_shards,
        warm_start_from=args.warm_start_from,
        params=params,
        seed=args.seed,
        save_checkpoints_steps=args.save_checkpoints_steps,
    )
    loss = "n/a" if result.loss is None else f"{result.loss:.4f}"
    print(f"Model at {result.model_dir}: global_step={result.global_step}, loss={loss}")
    return 0

"""`tpuest train`: parse arguments (one flag per TrainerArgs field) and call components.trainer.run."""

from __future__ import annotations

import argparse

from components import step_args
from components.cli import (
    checkpoint_path,
    existing_dir,
    integer,
    key_values,
    nonempty,
    number,
    output_dir,
)
from components.trainer.args import STRATEGIES, TrainerArgs
from estimator_core.check_model import module_source

EXAMPLE = """example:
  tpuest train --examples out/examples --model-dir out/model --train-steps 1000
  tpuest train --examples out/examples --model-dir out/model2 --train-steps 2000 \\
      --warm-start-from out/model --params learning_rate=0.003 --replicas 2 --seed 7
  tpuest train --examples out/examples --model-dir out/custom --train-steps 1000 \\
      --module-file my_model.py --params hidden_units=[64,32]
  tpuest train --examples out/examples --model-dir /tmp/model --train-steps 100000 \\
      --checkpoint-dir gs://bucket/checkpoints/run-7 --save-checkpoints-steps 1000

The module file defines model_fn (and optionally params, serving_input_receiver_fn,
make_input_fn); see docs/components.md. Without one, the built-in tabular classifier
(components.default_model) is trained from the examples' schema.json and stats.json.
Checkpoints already in --model-dir (or --checkpoint-dir) are resumed up to --train-steps.
--warm-start-from initializes a new model dir from a model of the same architecture.
"""


def _iterations(text: str) -> int | str:
    """An int, or a time budget like 30s (TrainerArgs checks either)."""
    return int(text) if text.lstrip("-").isdigit() else text


# argparse options per TrainerArgs field: only how the text is parsed; TrainerArgs validates.
FLAGS = {
    "train_steps": {"type": integer},
    "module_file": {"type": module_source},
    "train_batch_size": {"type": integer},
    "iterations_per_loop": {"type": _iterations},
    "replicas": {"type": integer},
    "strategy": {"choices": STRATEGIES},
    "use_tpu": {"action": "store_true"},
    "tpu": {"type": nonempty},
    "num_shards": {"type": integer},
    "warm_start_from": {"type": checkpoint_path},
    "params": {"action": "append", "metavar": "KEY=VALUE"},
    "seed": {"type": integer},
    "save_checkpoints_steps": {"type": integer},
    "loop_timeout_secs": {"type": number, "metavar": "SECONDS"},
    "checkpoint_dir": {"type": output_dir},
}


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "train",
        help="train a model_fn (module file or the built-in model) on prepared examples",
        description="Train into --model-dir (checkpoints, TensorBoard events, trainer.json); "
        "resumes the checkpoints already there (or in --checkpoint-dir).",
        epilog=EXAMPLE,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--examples", type=existing_dir, required=True, help="the prepare output directory"
    )
    parser.add_argument(
        "--model-dir",
        type=output_dir,
        required=True,
        help="the model (and its checkpoints) go here",
    )
    step_args.add_flags(parser, TrainerArgs, FLAGS)
    parser.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    params = key_values(args.params, "--params")
    trainer_args = step_args.from_namespace(TrainerArgs, args, "train", params=params)
    from components import trainer

    result = trainer.run(args.examples, args.model_dir, trainer_args)
    loss = "n/a" if result.loss is None else f"{result.loss:.4f}"
    print(f"Model at {result.model_dir}: global_step={result.global_step}, loss={loss}")
    return 0

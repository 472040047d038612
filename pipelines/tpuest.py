"""`tpuest`: the entry point; each subcommand module parses its arguments and calls a library function."""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from components.cli import UsageError
from pipelines import quiet

# Each module exposes register(subparsers); it adds its parser with set_defaults(func=...).
# The benchmarks are not here: bench sits beside the layers and runs as `python -m bench`.
SUBCOMMANDS = {
    "demo": "pipelines.demo",
    "prepare": "components.prepare.cli",
    "train": "components.trainer.cli",
    "evaluate": "components.evaluator.cli",
    "export": "components.exporter.cli",
    "pipeline": "pipelines.cli",
    "check-model": "estimator_core.check_model",
    "migrate": "estimator_core.migrate.cli",
}
# Subcommands that never import TensorFlow (Beam-only prepare). The others import it after
# their arguments are parsed: `--help` and usage errors never load it.
WITHOUT_TENSORFLOW = {"prepare"}


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The tpuest parser; with `command`, only that subcommand's module is imported (fast
    --help and usage errors: the other steps' TensorFlow/Beam imports are skipped)."""
    parser = argparse.ArgumentParser(
        prog="tpuest",
        description="TPUEstimator on TensorFlow 2.21: engine, pipeline steps and local pipeline.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="DEBUG logging")
    parser.add_argument(
        "--legacy-keras",
        action="store_true",
        help="use tf-keras (TF_USE_LEGACY_KERAS=1) so tf.compat.v1.layers work; "
        "needs the 'legacy' extra",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    names = [SUBCOMMANDS[command]] if command in SUBCOMMANDS else SUBCOMMANDS.values()
    for name in names:
        importlib.import_module(name).register(sub)
    return parser


def _setup_environment(argv: list[str]) -> None:
    # Must happen before TensorFlow is imported by any subcommand module.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "--legacy-keras" in argv:
        os.environ["TF_USE_LEGACY_KERAS"] = "1"


def _setup_logging(verbose: bool) -> None:
    # force: a subcommand's imports may have configured root already (Beam's logging.warning
    # at import does), which would leave our INFO lines unshown.
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        force=True,
    )
    # TensorFlow's own INFO lines repeat ours ("Restoring parameters", "Graph was finalized").
    tf_logger = logging.getLogger("tensorflow")
    tf_logger.setLevel(logging.DEBUG if verbose else logging.WARNING)
    # TensorFlow gives its logger a handler of its own when it logs before the root logger
    # has one (a subcommand's imports can); it also propagates to root, so every warning
    # would print twice. Root's handler, configured above, is the one that stays.
    for handler in list(tf_logger.handlers):
        tf_logger.removeHandler(handler)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    _setup_environment(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if command not in WITHOUT_TENSORFLOW:
        quiet.import_tensorflow()  # before the command's code loads it with its chatter
    _setup_logging(args.verbose)
    try:
        return int(args.func(args) or 0)
    except UsageError as e:
        parser.exit(2, f"tpuest: error: {e}\n")
    except KeyboardInterrupt:
        print("tpuest: interrupted", file=sys.stderr)
        return 130
    except Exception as e:
        if args.verbose:
            raise
        print(f"tpuest {args.command}: error: {type(e).__name__}: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

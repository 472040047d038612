"""`tpuest check-model`: reports, read-only, everything `tpuest migrate` would change."""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys


def module_path(module: str) -> str:
    """A path for `module`: a .py file or directory as given, or an importable module's file."""
    if os.path.exists(module):
        return module
    if module.endswith(".py"):
        raise FileNotFoundError(f"module file not found: {module}")
    spec = importlib.util.find_spec(module)
    if spec is None or not spec.origin or not os.path.exists(spec.origin):
        raise FileNotFoundError(f"module {module!r} not found (not a file, not importable)")
    return spec.origin


def module_source(text: str) -> str:
    """argparse type: a .py file that exists or an importable module name."""
    if not text.strip():
        raise argparse.ArgumentTypeError("must not be empty")
    try:
        module_path(text)
    except OSError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    except (ImportError, ValueError) as e:  # a missing parent package, or a name like "a..b"
        raise argparse.ArgumentTypeError(f"module {text!r} cannot be found: {e}") from None
    return text


def check_paths(paths: list[str]):
    """The migration of every .py file under `paths` (module names allowed), nothing written."""
    from estimator_core.migrate import migrate_paths

    return migrate_paths([module_path(p) for p in paths])


def _main(args: argparse.Namespace) -> int:
    from estimator_core.migrate import format_report

    results = check_paths(args.module)
    sys.stdout.write(format_report(results))
    needs_work = any(r.changed or r.manual for r in results)
    if needs_work:
        print(f"`tpuest migrate {' '.join(args.module)} --out DIR` makes these changes")
    return 1 if needs_work else 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check-model",
        help="report (read-only) what `tpuest migrate` would change; exit 1 if anything",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  tpuest check-model my_model.py\n  tpuest check-model mypkg.model src/",
    )
    parser.add_argument(
        "module",
        nargs="+",
        type=module_source,
        help=".py files, directories or importable module names",
    )
    parser.set_defaults(func=_main)

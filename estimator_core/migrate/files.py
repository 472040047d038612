"""Which files a migration reads, and where their migrated text (and the report) goes."""

from __future__ import annotations

import os
import shutil

from estimator_core.migrate.report import FileResult, format_report
from estimator_core.migrate.source import migrate_source

REPORT_NAME = "tpuest_migrate_report.txt"
DIFF_NAME = "tpuest_migrate.diff"
_SKIP_DIRS = {"__pycache__", ".git", ".venv", "venv", ".tox", "node_modules"}


class MigrationError(ValueError):
    """A path or output choice a migration cannot work with."""


def _walk(root: str):
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.startswith("."))
        for name in sorted(files):
            yield os.path.join(folder, name)


def python_files(paths: list[str]) -> list[tuple[str, str]]:
    """(file, path relative to its argument) for every .py file under `paths`.

    Raises:
        MigrationError: a path does not exist, or a file argument is not a .py file.
    """
    found = []
    for path in paths:
        if os.path.isdir(path):
            found += [(f, os.path.relpath(f, path)) for f in _walk(path) if f.endswith(".py")]
        elif os.path.isfile(path):
            if not path.endswith(".py"):
                raise MigrationError(f"{path} is not a .py file")
            found.append((path, os.path.basename(path)))
        else:
            raise MigrationError(f"{path} does not exist")
    return found


def _check_out(paths: list[str], out: str) -> None:
    if os.path.exists(out) and not os.path.isdir(out):
        raise MigrationError(f"--out {out} exists and is not a directory")
    out_abs = os.path.abspath(out)
    for path in paths:
        src = os.path.abspath(path)
        if out_abs == src or out_abs.startswith(src.rstrip(os.sep) + os.sep):
            raise MigrationError(f"--out {out} lies inside the input {path}")


def migrate_paths(
    paths: list[str], *, out: str | None = None, in_place: bool = False
) -> list[FileResult]:
    """Migrates every .py file under `paths`; writes to `out`, in place, or nowhere.

    With `out`, a directory argument's tree is reproduced under `out` (its other files copied
    as they are, so the result runs), a file argument lands at `out/<name>`, and the report
    and diff are written beside them.

    Raises:
        MigrationError: bad paths, or both `out` and `in_place`.
    """
    if out and in_place:
        raise MigrationError("choose --out DIR or --in-place, not both")
    if out:
        _check_out(paths, out)
    files = python_files(paths)
    results = []
    for file, relative in files:
        with open(file, encoding="utf-8") as f:
            text = f.read()
        result = migrate_source(text, file)
        results.append(result)
        if in_place and result.changed:
            with open(file, "w", encoding="utf-8") as f:
                f.write(result.migrated)
        elif out:
            target = os.path.join(out, relative)
            os.makedirs(os.path.dirname(target) or ".", exist_ok=True)
            with open(target, "w", encoding="utf-8") as f:
                f.write(result.migrated)
    if out:
        for path in paths:
            if os.path.isdir(path):
                for file in _walk(path):
                    if not file.endswith(".py"):
                        target = os.path.join(out, os.path.relpath(file, path))
                        os.makedirs(os.path.dirname(target), exist_ok=True)
                        shutil.copy2(file, target)
        with open(os.path.join(out, REPORT_NAME), "w", encoding="utf-8") as f:
            f.write(format_report(results))
        with open(os.path.join(out, DIFF_NAME), "w", encoding="utf-8") as f:
            f.write("".join(r.diff() for r in results))
    return results

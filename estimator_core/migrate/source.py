"""One file's migration: tf_upgrade_v2, then this project's rewrites, one report."""

from __future__ import annotations

import ast

from estimator_core.migrate import rules, upgrade
from estimator_core.migrate.report import Change, FileResult, Problem
from estimator_core.migrate.rewriter import rewrite


def _claimed(symbol: str) -> bool:
    # tf_upgrade_v2 says "cannot be converted" about names this project's rules convert.
    found = symbol and rules.lookup("tensorflow." + symbol[len("tf.") :])
    return bool(found) and isinstance(found[1], rules.Rename)


def _from_upgrade(entries, lines: list[str]) -> tuple[list[Change], list[Problem]]:
    changes, problems = [], []
    for line, severity, message, symbol in entries:
        code = lines[line - 1].strip() if 0 < line <= len(lines) else ""
        if severity == "INFO":
            if message.startswith("Renamed '") and "' to '" in message:
                before, after = message[len("Renamed '") :].rstrip("'").split("' to '", 1)
                changes.append(Change(line, before, after, by="tf_upgrade_v2"))
            elif not message.startswith("Not upgrading"):
                changes.append(Change(line, "", "", by="tf_upgrade_v2", note=message))
        elif not _claimed(symbol):
            kind = "manual" if severity == "ERROR" else "check"
            problems.append(Problem(line, code, f"tf_upgrade_v2: {message}", kind=kind))
    return changes, problems


def migrate_source(text: str, path: str = "<source>") -> FileResult:
    """The migration of one file's text (nothing is written).

    A file that is not Python 3 comes back unchanged with one problem saying so.
    """
    lines = text.splitlines()
    try:
        ast.parse(text)
    except SyntaxError as e:
        problem = Problem(
            e.lineno or 1,
            lines[(e.lineno or 1) - 1].strip() if lines else "",
            f"not Python 3 ({e.msg}): nothing was converted",
            "port the file to Python 3 first (e.g. with 2to3), then migrate it again",
        )
        return FileResult(path, text, text, (), (problem,))
    upgraded, entries = upgrade.upgrade(text, path)
    changes, problems = _from_upgrade(entries, lines)
    migrated, ours, left = rewrite(upgraded)
    changes += ours
    problems += left
    return FileResult(path, text, migrated, tuple(changes), tuple(problems))

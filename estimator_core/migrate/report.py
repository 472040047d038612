"""What a migration did to each file: changes, lines left for a person, the diff, the report."""

from __future__ import annotations

import dataclasses
import difflib


@dataclasses.dataclass(frozen=True)
class Change:
    """One rewrite: at `line` (of the file as read), `before` became `after`."""

    line: int
    before: str
    after: str
    by: str = "tpuest"  # or "tf_upgrade_v2"
    note: str = ""

    def describe(self) -> str:
        what = f"{self.before} -> {self.after}" if self.before else f"added {self.after}"
        if not self.before and not self.after:
            what = self.note
        elif self.note:
            what += f" ({self.note})"
        return f"[{self.by}] {what}"


@dataclasses.dataclass(frozen=True)
class Problem:
    """A line the migration could not convert (kind "manual") or converted but wants checked."""

    line: int
    code: str
    reason: str
    fix: str = ""
    kind: str = "manual"  # or "check"

    def describe(self) -> str:
        fix = f"; fix: {self.fix}" if self.fix else ""
        return f"{self.kind.upper()}: {self.reason}{fix}\n    {self.code}"


@dataclasses.dataclass(frozen=True)
class FileResult:
    """One file's migration."""

    path: str
    original: str
    migrated: str
    changes: tuple[Change, ...] = ()
    problems: tuple[Problem, ...] = ()

    @property
    def changed(self) -> bool:
        return self.migrated != self.original

    @property
    def manual(self) -> tuple[Problem, ...]:
        return tuple(p for p in self.problems if p.kind == "manual")

    def diff(self) -> str:
        return "".join(
            difflib.unified_diff(
                self.original.splitlines(keepends=True),
                self.migrated.splitlines(keepends=True),
                fromfile=f"a/{self.path}",
                tofile=f"b/{self.path}",
            )
        )


def format_report(results: list[FileResult]) -> str:
    """Every change and every problem, as `path:line: ...` lines, then a one-line summary."""
    lines = []
    for result in results:
        entries = [(c.line, 0, c.describe()) for c in result.changes]
        entries += [(p.line, 1, p.describe()) for p in result.problems]
        for line, _, text in sorted(entries, key=lambda e: (e[0], e[1])):
            lines.append(f"{result.path}:{line}: {text}")
    changed = sum(r.changed for r in results)
    changes = sum(len(r.changes) for r in results)
    manual = sum(len(r.manual) for r in results)
    checks = sum(len(r.problems) for r in results) - manual
    lines.append(
        f"{len(results)} file(s) read, {changed} changed: {changes} change(s), "
        f"{manual} line(s) to convert by hand, {checks} to check"
    )
    return "\n".join(lines) + "\n"

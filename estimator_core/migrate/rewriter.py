"""This project's rewrites, after tf_upgrade_v2: located in the AST, spliced into the text.

Only the spans of rewritten names (and whole import statements that change) are replaced, so
strings, comments and the formatting of every other line stay as they were. Edits that overlap
wait for the next round; a round that finds nothing ends it, so running it twice is a no-op.
"""

from __future__ import annotations

import ast
import dataclasses
import functools
import importlib

from estimator_core.migrate import rules
from estimator_core.migrate.report import Change, Problem

_ROUNDS = 6


@dataclasses.dataclass(frozen=True)
class _Edit:
    start: int
    end: int
    text: str
    change: Change | None
    is_import: bool = False


class _Source:
    """Character offsets of (line, utf-8 column) positions, as the ast reports them."""

    def __init__(self, text: str):
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def offset(self, line: int, col: int) -> int:
        raw = self.lines[line - 1].encode("utf-8")[:col]
        return self.starts[line - 1] + len(raw.decode("utf-8", errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int]:
        return (
            self.offset(node.lineno, node.col_offset),
            self.offset(node.end_lineno, node.end_col_offset),
        )

    def code(self, line: int) -> str:
        return self.lines[line - 1].strip() if 0 < line <= len(self.lines) else ""


def _bindings(tree: ast.AST) -> dict[str, str]:
    """Local name -> fully-qualified name, for every import (at any depth) of TF or the engine."""
    found = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                root = alias.name.split(".")[0]
                found[alias.asname or root] = alias.name if alias.asname else root
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                found[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    roots = ("tensorflow", "tensorflow_estimator", "estimator_core")
    return {k: v for k, v in found.items() if v.split(".")[0] in roots}


def _chain(node: ast.AST) -> list[ast.AST] | None:
    """[Name, Attribute, ...] from the root name to `node`, or None if not a dotted name."""
    nodes = []
    while isinstance(node, ast.Attribute):
        nodes.append(node)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    nodes.append(node)
    return nodes[::-1]


def _parts(nodes: list[ast.AST]) -> list[str]:
    return [nodes[0].id, *(n.attr for n in nodes[1:])]


@functools.cache
def _resolve(target: str):
    """The module or object `target` names, or None if it cannot be found.

    Walks attributes from the top package, importing a submodule only under its module's own
    name: importing an alias path such as `tensorflow.compat.v1.tpu` would execute a second copy
    of TensorFlow's API module and rebind `tf.compat.v1.tpu` to it for the whole process.
    """
    first, *rest = target.split(".")
    try:
        value = importlib.import_module(first)
    except ImportError:
        return None
    for part in rest:
        found = getattr(value, part, _MISSING)
        if found is _MISSING and hasattr(value, "__path__"):  # a package's unimported module
            try:
                found = importlib.import_module(f"{value.__name__}.{part}")
            except ImportError:
                return None
        if found is _MISSING:
            return None
        value = found
    return value


_MISSING = object()


class _Pass:
    """One round over one parse of the text."""

    def __init__(self, text: str):
        self.src = _Source(text)
        self.tree = ast.parse(text)
        self.bound = _bindings(self.tree)
        self.edits: list[_Edit] = []
        self.problems: list[Problem] = []
        self.needs: set[str] = set()  # modules to import
        self.rewritten_roots: set[int] = set()  # id() of Name nodes whose chain is rewritten
        self.legacy_keras = False
        self.keras = False  # uses tf.keras
        self.tf1 = False  # uses tf.compat.v1 or a name the rules know: TF1-era code
        self.graph_mode_lines: list[int] = []
        self.tf_alias = self._tf_alias()
        self.parents = {
            id(child): parent
            for parent in ast.walk(self.tree)
            for child in ast.iter_child_nodes(parent)
        }

    def _tf_alias(self) -> tuple[str, str, int] | None:
        for stmt in self.tree.body:
            if isinstance(stmt, ast.Import):
                for alias in stmt.names:
                    if alias.name in ("tensorflow", "tensorflow.compat.v1") and (
                        alias.asname or alias.name == "tensorflow"
                    ):
                        return alias.asname or "tensorflow", alias.name, stmt.lineno
        return None

    # -- rendering -------------------------------------------------------------------------

    def render(self, target: str) -> str:
        if target.startswith("tensorflow."):
            rest = target[len("tensorflow.") :]
            if self.tf_alias is None:
                self.needs.add("tensorflow")
                return target
            name, module, _ = self.tf_alias
            if module == "tensorflow.compat.v1" and rest.startswith("compat.v1."):
                rest = rest[len("compat.v1.") :]
            return f"{name}.{rest}"
        # `import estimator_core` reaches all of it (compat and export load on first use);
        # another package (tf_slim) is a rule's target only for names it exports at the top.
        self.needs.add(target.split(".")[0])
        return target

    def _problem(self, line: int, reason: str, fix: str, kind: str = "manual") -> None:
        self.problems.append(Problem(line, self.src.code(line), reason, fix, kind))

    # -- names -----------------------------------------------------------------------------

    def visit_names(self) -> None:
        inner = {id(n.value) for n in ast.walk(self.tree) if isinstance(n, ast.Attribute)}
        for node in ast.walk(self.tree):
            if isinstance(node, (ast.Attribute, ast.Name)) and id(node) not in inner:
                nodes = _chain(node)
                if nodes and nodes[0].id in self.bound:
                    self._name(nodes)
            if isinstance(node, ast.Attribute) and node.attr == "value":
                self._dimension_value(node)

    def _name(self, nodes: list[ast.AST]) -> None:
        parts = _parts(nodes)
        # The root's binding may stand for several parts (`from tensorflow.contrib import
        # metrics as m`: m is tensorflow.contrib.metrics); rules match on any of them.
        root = self.bound[parts[0]].split(".")
        qualified = [*root, *parts[1:]]
        full = ".".join(qualified)
        canon = rules.canonical(full)
        if canon.startswith("tensorflow.layers."):
            self.legacy_keras = True
        self.keras |= canon.startswith("tensorflow.keras")
        self.tf1 |= full.startswith("tensorflow.compat.v1.")
        if canon in rules.GRAPH_ONLY_CANONICAL and self._at_module_level(nodes[-1]):
            self.graph_mode_lines.append(nodes[0].lineno)
        for j in range(len(qualified), 0, -1):
            prefix = ".".join(qualified[:j])
            rule = rules.RULES.get(rules.canonical(prefix))
            if rule is None:
                continue
            k = max(j - len(root) + 1, 1)  # the nodes that spell the prefix
            line = nodes[0].lineno
            self.tf1 = True
            if isinstance(rule, rules.Manual):
                shown = ".".join(parts) + (f" ({full})" if len(root) > 1 else "")
                self._problem(line, f"{shown}: {rule.reason}", rule.fix)
                return
            if rule.target.split(".")[0] == "tf_slim":
                self.legacy_keras = True  # tf-slim builds TF's TF1 layers, which load tf-keras
            if k == 1 or prefix == rule.target:
                # The name itself is an alias of a moved module: its import is rewritten.
                self._check_member(rule.target, qualified[j:], line)
                return
            text = self.render(rule.target)
            start, _ = self.src.span(nodes[0])
            _, end = self.src.span(nodes[k - 1])
            before = self.src.text[start:end]
            if text == before:
                return
            self.rewritten_roots.add(id(nodes[0]))
            if rule.target.startswith("tensorflow.compat.v1.layers"):
                self.legacy_keras = True
            change = Change(line, before, text, note=rule.note)
            self.edits.append(_Edit(start, end, text, change))
            self._check_member(rule.target, qualified[j:], line)
            return

    def _check_member(self, target: str, rest: list[str], line: int) -> None:
        if ".layers" in target:
            return  # asking a Keras lazy loader for a name would fix it to Keras 3 for good
        owner = _resolve(target)
        if rest and owner is not None and not hasattr(owner, rest[0]):
            self._problem(
                line,
                f"{rest[0]}: {target} has no such name",
                "drop it, or use the engine's equivalent (see docs/migration.md)",
            )

    def _at_module_level(self, node: ast.AST) -> bool:
        while id(node) in self.parents:
            node = self.parents[id(node)]
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
                return False
        return True

    def _dimension_value(self, node: ast.Attribute) -> None:
        # TF2's TensorShape holds ints: `x.shape[-1].value` -> tf.compat.dimension_value(...).
        sub = node.value
        if not isinstance(sub, ast.Subscript):
            return
        base = sub.value
        shape_like = (isinstance(base, ast.Attribute) and base.attr in ("shape", "dims")) or (
            isinstance(base, ast.Call)
            and isinstance(base.func, ast.Attribute)
            and base.func.attr == "get_shape"
        )
        if not shape_like:
            return
        start, end = self.src.span(node)
        inner_start, inner_end = self.src.span(sub)
        inner = self.src.text[inner_start:inner_end]
        text = f"{self.render('tensorflow.compat.dimension_value')}({inner})"
        before = self.src.text[start:end]
        change = Change(node.lineno, before, text, note="TF2 shapes hold ints")
        self.edits.append(_Edit(start, end, text, change))

    # -- imports ---------------------------------------------------------------------------

    def visit_imports(self) -> None:
        uses: dict[str, int] = {}
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Name) and id(node) not in self.rewritten_roots:
                uses[node.id] = uses.get(node.id, 0) + 1
        for node in ast.walk(self.tree):
            if isinstance(node, ast.Import) or (
                isinstance(node, ast.ImportFrom) and node.module and not node.level
            ):
                self._import(node, uses)

    def _import(self, node: ast.Import | ast.ImportFrom, uses: dict[str, int]) -> None:
        lines, changed = [], False
        kept = []
        for alias in node.names:
            if isinstance(node, ast.Import):
                qualified, local = alias.name, alias.asname or alias.name.split(".")[0]
            else:
                qualified, local = f"{node.module}.{alias.name}", alias.asname or alias.name
            # The package itself (`import tensorflow_gan`, `from tensorflow_gan import x`), not
            # its internal modules, which the package's own files import.
            package = rules.PACKAGES_TO_MIGRATE.get(
                alias.name if isinstance(node, ast.Import) else node.module
            )
            if package is not None:
                kept.append(alias)
                self._problem(node.lineno, f"{qualified}: {package.reason}", package.fix)
                continue
            found = rules.lookup(qualified)
            if found is None or qualified.split(".")[0] not in (
                "tensorflow",
                "tensorflow_estimator",
            ):
                kept.append(alias)
                continue
            prefix, rule = found
            target = None
            if isinstance(rule, rules.Rename):
                target = rule.target + rules.canonical(qualified)[len(prefix) :]
            if target == qualified:
                kept.append(alias)
                continue
            if isinstance(node, ast.Import) and not alias.asname:
                # `import tensorflow.contrib.x` binds `tensorflow`; its uses are rewritten.
                changed = True
                lines.append("import tensorflow")
                continue
            if target is None:
                if uses.get(local, 0) == 0:
                    changed = True  # every use was rewritten: the import would only fail
                else:
                    kept.append(alias)
                    self._problem(
                        node.lineno,
                        f"import of {qualified} fails on TensorFlow 2.21: {rule.reason}",
                        f"convert the uses of {local} reported here, then delete this import",
                    )
                continue
            changed = True
            if uses.get(local, 0):  # else tf_upgrade_v2 or the rules above renamed every use
                lines.append(self._import_line(target, local, node.lineno))
        if not changed:
            return
        if kept:
            names = ", ".join(a.name + (f" as {a.asname}" if a.asname else "") for a in kept)
            head = "import" if isinstance(node, ast.Import) else f"from {node.module} import"
            lines.insert(0, f"{head} {names}")
        self._replace_statement(node, lines)

    def _import_line(self, target: str, local: str, line: int) -> str:
        if target.startswith("tensorflow."):
            # TF's API modules are not all importable by path (tensorflow.distribute is not).
            if self.tf_alias and self.tf_alias[2] < line:
                return f"{local} = {self.render(target)}"
            return f"import tensorflow\n{local} = {target}"
        module, _, name = target.rpartition(".")
        head = f"from {module} import {name}" if module else f"import {name}"
        return head + (f" as {local}" if local != name else "")

    def _replace_statement(self, node: ast.stmt, lines: list[str]) -> None:
        start, end = self.src.span(node)
        line_start = self.src.starts[node.lineno - 1]
        indent = self.src.text[line_start:start]
        line_end = self.src.starts[node.end_lineno]
        after = self.src.text[end:line_end]
        if indent.strip() or (after.strip() and not after.strip().startswith("#")):
            self._problem(node.lineno, "this import shares its line with other code", "split it")
            return
        before = self.src.text[start:end]
        body = "\n".join(lines).replace("\n", "\n" + indent)
        if not lines:
            siblings = getattr(self.parents.get(id(node)), "body", None) or []
            if len(siblings) > 1 or isinstance(self.parents.get(id(node)), ast.Module):
                change = Change(node.lineno, before, "", note="removed: nothing uses it now")
                text = f"{indent}{after.strip()}\n" if after.strip() else ""
                self.edits.append(_Edit(line_start, line_end, text, change, is_import=True))
                return
            body = "pass"
        change = Change(node.lineno, before, body.replace("\n" + indent, "; "))
        self.edits.append(_Edit(start, end, body, change, is_import=True))


def _apply(text: str, edits: list[_Edit]) -> tuple[str, list[Change]]:
    chosen, last_end, deferred = [], -1, False
    for edit in sorted(edits, key=lambda e: (e.start, -e.end)):
        if edit.start >= last_end:
            chosen.append(edit)
            last_end = edit.end
        else:
            deferred = True
    if deferred:
        # A deferred use still needs its import to resolve next round: imports wait too.
        chosen = [e for e in chosen if not e.is_import] or chosen
    for edit in reversed(chosen):
        text = text[: edit.start] + edit.text + text[edit.end :]
    return text, [e.change for e in chosen if e.change]


def _insertion_line(tree: ast.Module) -> int:
    """The line after which added imports go: the end of the file's leading imports."""
    line = 0
    for i, stmt in enumerate(tree.body):
        docstring = i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
        if isinstance(stmt, (ast.Import, ast.ImportFrom)) or docstring:
            line = stmt.end_lineno
        else:
            break
    return line


def _has_import(tree: ast.Module, line: str) -> bool:
    return any(ast.dump(stmt) == ast.dump(ast.parse(line).body[0]) for stmt in tree.body)


def rewrite(text: str) -> tuple[str, list[Change], list[Problem]]:
    """This project's rewrites of `text`: the new text, its changes and the lines left over.

    Raises:
        SyntaxError: `text` is not Python 3.
    """
    changes: list[Change] = []
    needs: set[str] = set()
    legacy = False
    first = None
    for _ in range(_ROUNDS):
        step = _Pass(text)
        step.visit_names()
        step.visit_imports()
        first = first or step  # its line numbers are those of the text as given
        needs |= step.needs
        # TF1-era tf.keras (applications on graph tensors, model.updates) is Keras 2: tf-keras.
        legacy |= step.legacy_keras or (step.keras and step.tf1)
        if not step.edits:
            break
        text, done = _apply(text, step.edits)
        changes += done
    # Rules that only report never edit, so the first round already found every problem.
    text, added = _add_lines(text, needs, legacy, first.graph_mode_lines)
    return text, changes + added, first.problems


def _first_import_line(tree: ast.Module) -> int:
    """The line after which the legacy-Keras switch goes: before every import but __future__."""
    line = 0
    for i, stmt in enumerate(tree.body):
        docstring = i == 0 and isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)
        future = isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"
        if not (docstring or future):
            break
        line = stmt.end_lineno
    return line


def _add_lines(text, needs, legacy, graph_lines):
    tree = ast.parse(text)
    wanted = [f"import {module}" for module in sorted(needs)]
    wanted = [line for line in wanted if not _has_import(tree, line)]
    step = _Pass(text)
    if graph_lines and rules.DISABLE_V2 not in text:
        wanted.append(step.render("tensorflow.compat.v1." + rules.DISABLE_V2))
    # The switch must run before anything imports TensorFlow, which fixes `tensorflow.keras`.
    switch = [rules.LEGACY_KERAS_IMPORT] if legacy else []
    switch = [line for line in switch if not _has_import(tree, line.split("  #")[0])]
    if not wanted and not switch:
        return text, []
    lines = text.splitlines(keepends=True)
    at, first = _insertion_line(tree), _first_import_line(tree)
    for where in (at, first):
        if where and not lines[where - 1].endswith("\n"):
            lines[where - 1] += "\n"
    lines[at:at] = [line + "\n" for line in wanted]
    lines[first:first] = [line + "\n" for line in switch]
    note = {}
    if graph_lines and wanted and wanted[-1].endswith(rules.DISABLE_V2):
        note[wanted[-1]] = (
            f"graph-mode code outside the engine's graphs (line {graph_lines[0]}: "
            "tf.compat.v1.placeholder/Session at module level)"
        )
    added = [Change(max(first, 1), "", line, note=rules.LEGACY_KERAS_NOTE) for line in switch]
    added += [Change(max(at, 1), "", line, note=note.get(line, "")) for line in wanted]
    return "".join(lines), added

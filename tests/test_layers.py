"""Imports run down the layers only: estimator_core <- components <- pipelines; nothing imports bench.

Every import statement counts, deferred ones inside functions included, and so do dotted module
names in strings (the `tpuest` dispatcher imports its subcommands by name).
"""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
RANK = {"estimator_core": 0, "components": 1, "pipelines": 2}


def imported_names(tree: ast.AST):
    """(line, module name) for each import and each dotted string naming one of our packages."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            text = node.value
            top = text.split(".")[0]
            if "." in text and " " not in text and top in (*RANK, "bench"):
                yield node.lineno, text


def upward_imports(package: str) -> list[str]:
    rank = RANK[package]
    found = []
    for path in sorted((ROOT / package).rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for line, name in imported_names(tree):
            top = name.split(".")[0]
            if top == "bench" or RANK.get(top, -1) > rank:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {name}")
    return found


@pytest.mark.parametrize("package", sorted(RANK))
def test_no_module_imports_a_layer_above_its_own_or_bench(package):
    assert upward_imports(package) == []


def test_the_check_sees_deferred_imports_and_module_names_in_strings():
    source = (
        "def f():\n"
        "    from pipelines.local import run_local\n"
        "NAMES = {'bench': 'bench.cli'}\n"
        "import components.cli\n"
    )
    found = sorted(name for _, name in imported_names(ast.parse(source)))
    assert found == ["bench.cli", "components.cli", "pipelines.local"]

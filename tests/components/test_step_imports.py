"""Steps are siblings: no step package imports another; what two steps share lives beside them."""

import ast
import pathlib

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
STEPS = ("prepare", "trainer", "evaluator", "exporter")


def imported_modules(path: pathlib.Path) -> list[tuple[int, str]]:
    """(line, module) for every import in the file, deferred ones inside functions included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            # `from components import trainer` imports the package too.
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def other_steps_imported(step: str) -> list[str]:
    found = []
    for path in sorted((ROOT / "components" / step).rglob("*.py")):
        for line, module in imported_modules(path):
            parts = module.split(".")
            other = len(parts) > 1 and parts[1] in STEPS and parts[1] != step
            if parts[0] == "components" and other:
                found.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    return found


@pytest.mark.parametrize("step", STEPS)
def test_a_step_package_imports_no_other_step_package(step):
    assert other_steps_imported(step) == []


def test_the_check_sees_package_imports_and_deferred_ones(tmp_path):
    source = tmp_path / "x.py"
    source.write_text("def f():\n    from components import exporter\n")
    assert (2, "components.exporter") in imported_modules(source)

"""Every float comparison in the tests carries an absolute tolerance.

A relative tolerance alone fails on values near zero (a logit of -5.5e-4 that differed by 7e-9
failed `rtol=1e-6` on a loaded machine), so assert_allclose needs `atol`, pytest.approx `abs`
and math.isclose `abs_tol`.
"""

import ast
import pathlib

TESTS = pathlib.Path(__file__).resolve().parent
ABSOLUTE = {
    "assert_allclose": "atol",
    "assertAllClose": "atol",
    "approx": "abs",
    "isclose": "abs_tol",
}


def comparisons_without_absolute_tolerance(source: str, filename: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source, filename)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
        keywords = {k.arg for k in node.keywords}
        if name in ABSOLUTE and not keywords & {ABSOLUTE[name], "atol"}:
            found.append(
                (node.lineno, f"{filename}:{node.lineno} {name} without {ABSOLUTE[name]}=")
            )
    return [text for _, text in sorted(found)]


def test_every_float_comparison_has_an_absolute_tolerance():
    found = []
    for path in sorted(TESTS.rglob("*.py")):
        found += comparisons_without_absolute_tolerance(
            path.read_text(encoding="utf-8"), str(path.relative_to(TESTS))
        )
    assert found == []


def test_the_check_finds_each_kind():
    source = (
        "np.testing.assert_allclose(a, b, rtol=1e-6)\n"
        "assert x == pytest.approx(y)\n"
        "math.isclose(x, 0.0)\n"
        "np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)\n"
        "assert x == pytest.approx(y, abs=1e-6)\n"
    )
    assert comparisons_without_absolute_tolerance(source, "t.py") == [
        "t.py:1 assert_allclose without atol=",
        "t.py:2 approx without abs=",
        "t.py:3 isclose without abs_tol=",
    ]

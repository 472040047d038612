"""`tpuest check-model`: lists what a model module uses that TensorFlow 2.21 no longer has."""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import io
import os
import re
import tokenize

# (pattern, what it is, what to do instead). Rules go from specific to general: where several
# match the same text (tf.contrib.tpu.X is also tf.contrib), the first one claims it.
RULES: tuple[tuple[str, str, str], ...] = (
    (
        r"\btf\.contrib\.tpu\.",
        "tf.contrib.tpu",
        "import from estimator_core (TPUEstimator, TPUEstimatorSpec, RunConfig, TPUConfig) or "
        "`from estimator_core.compat import tpu`",
    ),
    (
        r"\btensorflow\.contrib\.tpu\b",
        "tensorflow.contrib.tpu",
        "`from estimator_core import tpu_estimator` (or estimator_core.compat.tpu)",
    ),
    (
        r"\btf\.contrib\.|\btensorflow\.contrib\b",
        "tf.contrib",
        "tf.contrib is gone: find the TF2 or tf.compat.v1 equivalent of this symbol",
    ),
    (
        r"\btf\.(compat\.v1\.)?estimator\.tpu\.",
        "tf.estimator.tpu",
        "`from estimator_core.compat import tpu` (same names)",
    ),
    (
        r"\btf\.(compat\.v1\.)?estimator\.ModeKeys\b",
        "tf.estimator.ModeKeys",
        "estimator_core.ModeKeys",
    ),
    (
        r"\btf\.(compat\.v1\.)?estimator\.export\.",
        "tf.estimator.export",
        "estimator_core.export (ServingInputReceiver, PredictOutput, ...)",
    ),
    (
        r"\btf\.(compat\.v1\.)?estimator\.|\btensorflow\.(compat\.v1\.)?estimator\b"
        r"|\bfrom\s+tensorflow(\.compat\.v1)?\s+import\s+(.*,\s*)?estimator\b",
        "tf.estimator",
        "tf.estimator was removed in TF 2.16: use the estimator_core equivalent",
    ),
    (
        r"\btensorflow_estimator\b",
        "tensorflow_estimator",
        "tensorflow_estimator stopped at TF 2.15 (no release for TF 2.16+): use estimator_core",
    ),
    (
        r"\btf\.layers\.",
        "tf.layers",
        "keras.layers (works in the graph), or tf.compat.v1.layers with "
        "`tpuest --legacy-keras` / TF_USE_LEGACY_KERAS=1 and the 'legacy' extra",
    ),
    (
        r"\btf\.compat\.v1\.layers\.|\btensorflow\.compat\.v1\.layers\b"
        r"|\bfrom\s+tensorflow\.compat\.v1\s+import\s+(.*,\s*)?layers\b",
        "tf.compat.v1.layers",
        "needs tf-keras: install the 'legacy' extra and run with TF_USE_LEGACY_KERAS=1 "
        "(`tpuest --legacy-keras`), or move to keras.layers",
    ),
    (
        r"\btf\.(metrics|losses)\.(?!Metric\b|Loss\b)",
        "TF1 tf.metrics / tf.losses",
        "tf.compat.v1.metrics / tf.compat.v1.losses",
    ),
    (r"\btf\.train\.\w*Optimizer\b", "TF1 tf.train optimizer", "tf.compat.v1.train.<Optimizer>"),
    (
        r"\btf\.train\.(get_global_step|get_or_create_global_step|SessionRunHook|Scaffold)\b",
        "TF1 tf.train API",
        "tf.compat.v1.train.<same name>",
    ),
    (
        r"\btf\.(get_variable|variable_scope|placeholder|Session|global_variables_initializer)\b",
        "TF1 graph API",
        "tf.compat.v1.<same name>",
    ),
    (
        r"\btf\.summary\.(scalar|histogram|merge_all)\(",
        "TF1 tf.summary op",
        "tf.compat.v1.summary.<same name> inside model_fn",
    ),
)


@dataclasses.dataclass(frozen=True)
class Finding:
    path: str
    line: int
    api: str
    advice: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.api}: {self.advice}"


def _code_lines(text: str) -> list[str]:
    """The lines of `text` with comments and string literals blanked out (same positions)."""
    lines = text.splitlines()
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(text).readline))
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # Not tokenizable (e.g. Python 2 code, common in TF1 models): comments only.
        return [line.split("#", 1)[0] for line in lines]
    chars = [list(line) for line in lines]
    for token in tokens:
        if token.type not in (tokenize.COMMENT, tokenize.STRING):
            continue
        (row, col), (end_row, end_col) = token.start, token.end
        for r in range(row, end_row + 1):
            line = chars[r - 1]
            start = col if r == row else 0
            stop = end_col if r == end_row else len(line)
            line[start:stop] = " " * (stop - start)
    return ["".join(line) for line in chars]


def check_source(text: str, path: str = "<source>") -> list[Finding]:
    """One finding per rule that matches code on a line (comments and strings skipped).

    Each match claims its text, so a general rule does not repeat a specific one there
    (`tf.contrib.tpu.X` is reported once, as tf.contrib.tpu).
    """
    findings = []
    compiled = [(re.compile(p), api, advice) for p, api, advice in RULES]
    for number, code in enumerate(_code_lines(text), start=1):
        claimed: list[tuple[int, int]] = []
        found = []
        for pattern, api, advice in compiled:
            spans = [m.span() for m in pattern.finditer(code)]
            free = [(a, b) for a, b in spans if not any(a < d and c < b for c, d in claimed)]
            claimed += spans
            if free:
                found.append((free[0][0], Finding(path, number, api, advice)))
        findings += [finding for _, finding in sorted(found, key=lambda pair: pair[0])]
    return findings


def module_path(module: str) -> str:
    """A file path for `module` (a .py path, or an importable module name)."""
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


def _main(args: argparse.Namespace) -> int:
    path = module_path(args.module)
    with open(path, encoding="utf-8") as f:
        findings = check_source(f.read(), path)
    for finding in findings:
        print(finding)
    print(f"{len(findings)} use(s) of APIs missing from TensorFlow 2.21 in {path}")
    return 1 if findings and args.strict else 0


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "check-model",
        help="list what a model module uses that TensorFlow 2.21 no longer has",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  tpuest check-model my_model.py\n  tpuest check-model mypkg.model --strict",
    )
    parser.add_argument(
        "module", type=module_source, help="a .py file or an importable module name"
    )
    parser.add_argument("--strict", action="store_true", help="exit 1 when anything is found")
    parser.set_defaults(func=_main)

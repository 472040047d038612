"""The README's engine example runs as written and trains a working model."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _engine_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    (example,) = [b for b in blocks if "TPUEstimator(" in b and "est.train(" in b]
    return example


def test_readme_engine_example_trains_and_evaluates(tmp_path, capsys):
    code = _engine_example().replace('"/tmp/model"', repr(str(tmp_path / "model")))
    namespace: dict = {}
    exec(compile(code, str(README), "exec"), namespace)

    assert "accuracy" in capsys.readouterr().out
    est = namespace["est"]
    assert est.latest_checkpoint().endswith("model.ckpt-1000")
    metrics = est.evaluate(namespace["eval_input_fn"])
    assert metrics["global_step"] == 1000
    assert metrics["accuracy"] > 0.9


def test_ci_runs_exactly_the_readmes_test_command():
    quickstart = README.read_text().split("## Quickstart", 1)[1].split("```bash\n", 1)[1]
    commands = [line for line in quickstart.split("```")[0].splitlines() if line.strip()]
    commands = [line for line in commands if not line.startswith("#")]
    assert len(commands) == 3, "the Quickstart is the demo, the tests and the TFX tests"
    ci = (README.parent / ".ci" / "run").read_text().splitlines()
    assert commands[1] in ci and commands[2] in ci
    assert "pytest -q tests/tfx" in commands[2] and "TPUEST_REQUIRE_TFX=1" in commands[2]
    assert commands[0].endswith("tpuest demo")

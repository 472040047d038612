"""Each benchmark runs end to end in a tiny configuration (no timing assertions)."""

import pytest

from bench import (
    eval_predict,
    fallback_throughput,
    memory,
    penguins_input,
    pipeline_steps,
    replica_throughput,
    rounds,
    train_throughput,
)


@pytest.mark.slow
def test_benchmarks_run_and_report_every_system():
    train = train_throughput.main(["--steps", "20", "--iterations", "10", "--repeats", "1"])
    assert set(train[10]["ratios"]) == {"raw v1 loop", "tf.function", "keras fit"}
    result = eval_predict.main(["--examples", "512", "--repeats", "1"])
    assert set(result["ratios"]) == {"evaluate vs keras", "predict vs keras"}
    mem = memory.main(["--calls", "2", "--steps", "5"])
    assert all(len(r["rss_mb"]) == 2 for r in mem.values())
    times = rounds.main(["--rounds", "1"])
    assert set(times) == {"engine (persistent graphs)", "engine rebuilding each call"}
    replicas = replica_throughput.main(["--steps", "200", "--repeats", "1"])
    assert set(replicas) == {"one device", "mirrored x1", "mirrored x2", "mirrored x4"}


@pytest.mark.slow
def test_penguins_and_pipeline_benchmarks_report_every_step():
    penguins = penguins_input.main(["--steps", "40", "--iterations", "10", "--repeats", "1"])
    assert set(penguins[10]["steps_per_sec"]) == {"engine", "raw v1 loop"}
    assert penguins[10]["ratio"] > 0
    pipeline = pipeline_steps.main(["--train-steps", "20"])
    assert set(pipeline["pipeline_seconds"]) >= {"prepare", "trainer", "evaluator", "report"}
    assert set(pipeline["in_process_seconds"]) == {"prepare", "trainer", "evaluator", "exporter"}
    # Each pipeline task runs in its own Python: it can never be cheaper than the import alone.
    assert all(secs > 0 for secs in pipeline["pipeline_seconds"].values())


@pytest.mark.slow
def test_fallback_benchmark_reports_a_row_per_iterations_per_loop():
    result = fallback_throughput.main(
        ["--steps", "20", "--iterations", "1", "10", "--repeats", "1"]
    )
    systems = [fallback_throughput.system(k) for k in (1, 10)]
    assert list(result["steps_per_sec"]) == systems
    assert all(rate > 0 for rate in result["steps_per_sec"].values())
    assert result["vs_legacy"] == {}  # no --legacy-python: no ratio invented
    table = fallback_throughput.results_lines(result)
    rows = [line for line in table if line.startswith("| engine fallback")]
    assert [row.split(" | ")[0][2:] for row in rows] == systems
    assert all(row.endswith("| - |") for row in rows)

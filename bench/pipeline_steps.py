"""Wall time per step of the local pipeline (kfp.local subprocess tasks) on the embedded penguins
data, next to the same library calls made in one warm process: the difference is what
orchestration costs (a fresh Python per task, imports, artifact bookkeeping).

Also the wall time of `tpuest demo` as a user runs it (a fresh process, its default 600 steps),
which must stay under DEMO_BUDGET_SECS on a 2-core machine.

Run: python -m bench.pipeline_steps [--train-steps 600]
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

from bench.scratch import cleaned_up

STEPS = ("prepare", "trainer", "evaluator", "exporter", "report")
DEMO_BUDGET_SECS = 180.0
_EVENT = re.compile(r"(Executing task|Task) \W*'([\w-]+)'")


class _TaskTimes(logging.Filter):
    """Collects kfp.local's 'Executing task' / 'Task ... finished' records with their times.

    A filter on the root logger, not a handler: kfp.local replaces the root handlers while a
    pipeline runs, and logs through the root logger.
    """

    def __init__(self):
        super().__init__()
        self.started: dict[str, float] = {}
        self.seconds: dict[str, float] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        message = re.sub(r"\x1b\[[0-9;]*m", "", record.getMessage())
        match = _EVENT.search(message)
        if match:
            kind, task = match.groups()
            if kind == "Executing task":
                self.started[task] = record.created
            elif "finished" in message and task in self.started:
                self.seconds[task] = record.created - self.started.pop(task)
        return True


def pipeline_step_seconds(root: str, train_steps: int) -> tuple[dict[str, float], float]:
    """({task: seconds}, total seconds) of one `run_local` on penguins under `root`."""
    from components.datasets import penguins_csv
    from pipelines.local import run_local

    times = _TaskTimes()
    logger = logging.getLogger()
    logger.addFilter(times)
    try:
        started = time.perf_counter()
        record = run_local(penguins_csv(), root, train_steps=train_steps)
        total = time.perf_counter() - started
    finally:
        logger.removeFilter(times)
    if record.status != "succeeded":
        raise RuntimeError(f"the pipeline run failed: {record.error}")
    return times.seconds, total


def in_process_seconds(root: str, train_steps: int) -> dict[str, float]:
    """The same steps as library calls in this (already warm) process."""
    from components import evaluator, exporter, prepare, trainer
    from components.datasets import penguins_csv

    examples, model = os.path.join(root, "examples"), os.path.join(root, "model")
    evaluation = os.path.join(root, "evaluation")
    calls = {
        "prepare": lambda: prepare.run([penguins_csv()], examples, label="species"),
        "trainer": lambda: trainer.run(
            examples, model, train_steps=train_steps, train_batch_size=32, seed=0
        ),
        "evaluator": lambda: evaluator.run(
            examples, model, evaluation, thresholds=["accuracy>=0.0"]
        ),
        "exporter": lambda: exporter.run(
            model, os.path.join(root, "exports"), evaluation_dir=evaluation
        ),
    }
    seconds = {}
    for name, call in calls.items():
        started = time.perf_counter()
        call()
        seconds[name] = time.perf_counter() - started
    return seconds


def demo_seconds(root: str) -> float:
    """Wall time of `tpuest demo --root root` in a fresh interpreter, imports included."""
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "pipelines.tpuest", "demo", "--root", root],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return time.perf_counter() - started


def measure(train_steps: int = 600) -> dict:
    root = tempfile.mkdtemp(prefix="bench_pipeline_")
    try:
        # In-process first: it also pays the one-time imports, so its numbers are warm after.
        in_process_seconds(os.path.join(root, "warm-up"), train_steps)
        direct = in_process_seconds(os.path.join(root, "direct"), train_steps)
        steps, total = pipeline_step_seconds(os.path.join(root, "pipeline"), train_steps)
        demo = demo_seconds(os.path.join(root, "demo"))
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return {
        "pipeline_seconds": steps,
        "in_process_seconds": direct,
        "total_seconds": total,
        "demo_seconds": demo,
    }


@cleaned_up
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-steps", type=int, default=600)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    result = measure(args.train_steps)
    print(f"{'step':>10} {'pipeline s':>11} {'in process s':>13}")
    for step in STEPS:
        piped = result["pipeline_seconds"].get(step)
        direct = result["in_process_seconds"].get(step)
        print(
            f"{step:>10} {piped if piped is not None else float('nan'):>11.2f} "
            f"{direct if direct is not None else float('nan'):>13.2f}"
        )
    print(f"whole local pipeline run: {result['total_seconds']:.1f} s")
    print(
        f"tpuest demo (fresh process, {os.cpu_count()} cores): {result['demo_seconds']:.1f} s "
        f"(budget {DEMO_BUDGET_SECS:.0f} s)"
    )
    return result


if __name__ == "__main__":
    main()

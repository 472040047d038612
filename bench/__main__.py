"""`python -m bench`: run the benchmarks, print tables, optionally write RESULTS.md.

python -m bench                      # all benchmarks, default sizes
python -m bench --quick              # small sizes (minutes, noisier)
python -m bench --write-results      # also bench/RESULTS.md and bench/steps_vs_iterations.png
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform

from bench.scratch import cleaned_up

HERE = os.path.dirname(os.path.abspath(__file__))


def machine() -> str:
    import tensorflow as tf

    cpus = os.cpu_count()
    memory = ""
    if os.path.exists("/proc/meminfo"):
        with open("/proc/meminfo") as f:
            memory = f"{int(f.readline().split()[1]) // 1024 // 1024} GiB"
    return (
        f"{platform.platform()}, {cpus} CPUs, {memory}, Python {platform.python_version()}, "
        f"TensorFlow {tf.__version__}"
    )


def _plot(train: dict, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axis = plt.subplots(figsize=(6, 4))
    ks = sorted(train)
    for system in train[ks[0]]["steps_per_sec"]:
        axis.plot(ks, [train[k]["steps_per_sec"][system] for k in ks], marker="o", label=system)
    axis.set_xscale("log")
    axis.set_xlabel("iterations_per_loop (steps per host round trip)")
    axis.set_ylabel("train steps/s")
    axis.set_title("MLP 784-256-256-10, batch 128, Adam")
    axis.grid(alpha=0.3)
    axis.legend()
    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)


def _results_md(
    train,
    evalpred,
    memory,
    replicas,
    round_times,
    penguins,
    pipeline,
    prep,
    fallback,
    estimator,
    clients,
) -> str:
    from bench import client_parity, estimator_throughput, fallback_throughput

    lines = [
        "# Benchmark results",
        "",
        f"Measured {datetime.date.today()} on: {machine()}.",
        "Regenerate with `python -m bench --write-results`. All numbers are medians of interleaved",
        "repeats in one process; ratios compare systems measured in the same run.",
        "",
        "## Training steps/s vs iterations_per_loop",
        "",
        "![steps/s vs iterations_per_loop](steps_vs_iterations.png)",
        "",
    ]
    systems = list(next(iter(train.values()))["steps_per_sec"])
    peers = list(next(iter(train.values()))["ratios"])
    lines.append(
        "| iterations_per_loop | "
        + " | ".join(systems)
        + " | "
        + " | ".join(f"engine / {p}" for p in peers)
        + " |"
    )
    lines.append("|" + "---|" * (1 + len(systems) + len(peers)))
    for k, row in sorted(train.items()):
        lines.append(
            f"| {k} | "
            + " | ".join(f"{row['steps_per_sec'][s]:.0f}" for s in systems)
            + " | "
            + " | ".join(f"{row['ratios'][p]:.2f}x" for p in peers)
            + " |"
        )
    ks = sorted(train)
    if 100 in train and 1000 in train:
        overhead = (
            1 - train[100]["steps_per_sec"]["engine"] / train[1000]["steps_per_sec"]["engine"]
        )
        lines += ["", f"Host-loop overhead at iterations_per_loop=100 (vs 1000): {overhead:.1%}."]
    lines += ["", *fallback_throughput.results_lines(fallback)]
    lines += ["", *estimator_throughput.results_lines(estimator)]
    lines += ["", *client_parity.results_lines(clients)]
    engine_secs = round_times["engine (persistent graphs)"]
    lines += [
        "",
        "## Train-and-evaluate rounds (train 100 steps + evaluate 10 batches, ten rounds)",
        "",
        "| system | seconds | vs engine |",
        "|---|---|---|",
    ]
    lines += [f"| {n} | {t:.2f} | {t / engine_secs:.2f}x |" for n, t in round_times.items()]
    lines += [
        "",
        "## Evaluate and predict (examples/s)",
        "",
        "| system | examples/s |",
        "|---|---|",
    ]
    lines += [f"| {name} | {rate:.0f} |" for name, rate in evalpred["examples_per_sec"].items()]
    lines += [f"| {name} | {ratio:.2f}x |" for name, ratio in evalpred["ratios"].items()]
    lines += [
        "",
        "## Replication on logical CPUs (overhead, not speed-up, on 2 cores)",
        "",
        "| system | steps/s | vs one device |",
        "|---|---|---|",
    ]
    lines += [
        f"| {n} | {r['steps_per_sec']:.0f} | {r['ratio']:.2f}x |" for n, r in replicas.items()
    ]
    lines += [
        "",
        "## Penguins model fed from prepared TFRecords (components.data, input pipeline included)",
        "",
        "| iterations_per_loop | engine steps/s | raw v1 loop steps/s | engine / raw |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {k} | {r['steps_per_sec']['engine']:.0f} | {r['steps_per_sec']['raw v1 loop']:.0f} "
        f"| {r['ratio']:.2f}x |"
        for k, r in sorted(penguins.items())
    ]
    lines += [
        "",
        "## Prepare (Beam, DirectRunner in process) vs a plain single-process Python loop",
        "",
        "Same generated CSV, same TFRecords; median of the repeats.",
        "",
        "| rows | workers | mode | plain rows/s | prepare rows/s | prepare / plain |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {r['rows']} | {r['workers']} | {r['mode']} | {r['plain_rows_per_s']:.0f} "
        f"| {r['prepare_rows_per_s']:.0f} | {r['ratio']:.2f}x |"
        for r in prep
    ]
    lines += [
        "",
        "## Local pipeline wall time per step (penguins, kfp.local subprocess tasks)",
        "",
        "Beside each step, the same library call in one warm process: the difference is the",
        "cost of orchestration (a fresh Python per task, imports, artifact bookkeeping).",
        "",
        "| step | in the pipeline (s) | in process (s) |",
        "|---|---|---|",
    ]
    direct = pipeline["in_process_seconds"]
    lines += [
        f"| {step} | {secs:.2f} | {direct[step]:.2f} |"
        if step in direct
        else f"| {step} | {secs:.2f} | - |"
        for step, secs in pipeline["pipeline_seconds"].items()
    ]
    lines += ["", f"Whole local pipeline run: {pipeline['total_seconds']:.1f} s."]
    lines += [
        "",
        "## Memory: RSS over consecutive train() calls",
        "",
        "| case | first MB | last MB | growth |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| {n} | {r['rss_mb'][0]:.0f} | {r['rss_mb'][-1]:.0f} | {r['growth']:+.1%} |"
        for n, r in memory.items()
    ]
    lines += ["", f"(iterations measured: {ks})", ""]
    return "\n".join(lines)


def _median_run(measure, repeats: int) -> dict:
    """The run with the median ratio of `repeats` calls of `measure` (each returns a dict)."""
    runs = sorted((measure() for _ in range(max(repeats, 1))), key=lambda r: r["ratio"])
    return runs[len(runs) // 2]


@cleaned_up
def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument(
        "--write-results", action="store_true", help="write bench/RESULTS.md and the plot"
    )
    parser.add_argument(
        "--legacy-python", help="a Python with tensorflow-estimator 2.15 (bench/legacy_peer.py)"
    )
    parser.add_argument(
        "--tpu-models",
        help="a tensorflow/tpu models/ checkout: time its ResNet and EfficientNet scripts against "
        "the original (needs --legacy-python)",
    )
    args = parser.parse_args(argv)
    if args.tpu_models and not args.legacy_python:
        parser.error("--tpu-models needs --legacy-python (the original side of each script)")
    from bench import (
        client_parity,
        estimator_throughput,
        eval_predict,
        fallback_throughput,
        memory,
        penguins_input,
        pipeline_steps,
        prepare_throughput,
        replica_throughput,
        rounds,
        train_throughput,
    )

    legacy = ["--legacy-python", args.legacy_python] if args.legacy_python else []
    steps, repeats = ("300", "1") if args.quick else ("2000", "3")
    replicas = replica_throughput.main(["--steps", steps, "--repeats", repeats])
    # Five interleaved repeats: a neighbour's burst on a shared 2-core VM skews one of three.
    train = train_throughput.main(
        [
            "--steps",
            steps,
            "--iterations",
            "1",
            "10",
            "100",
            "1000",
            "--repeats",
            "1" if args.quick else "5",
            *legacy,
        ]
    )
    fallback = fallback_throughput.main(
        ["--steps", "300" if args.quick else "1000", "--repeats", repeats, *legacy]
    )
    round_times = rounds.main(legacy)
    estimator = estimator_throughput.main(
        ["--steps", steps, "--repeats", repeats, "--rounds", "3" if args.quick else "10", *legacy]
    )
    clients = [
        client_parity.compare(
            client, args.tpu_models, args.legacy_python, f"/tmp/tpuest-bench-clients/{client}"
        )
        for client in (client_parity.SCRIPT_CLIENTS if args.tpu_models else ())
    ]
    # A call takes ~0.1 s and its time varies ~2x from call to call: more repeats than training.
    evalpred = eval_predict.main(
        ["--examples", "4096" if args.quick else "16384", "--repeats", "1" if args.quick else "9"]
    )
    mem = memory.main(["--calls", "5" if args.quick else "20"])
    penguins = penguins_input.main(
        [
            "--steps",
            "500" if args.quick else "3000",
            "--iterations",
            "1",
            "100",
            "--repeats",
            repeats,
        ]
    )
    pipeline = pipeline_steps.main([])
    prep = [
        _median_run(
            lambda w=workers: prepare_throughput.measure(20_000 if args.quick else 200_000, w),
            int(repeats),
        )
        for workers in (1, 2)
    ]
    for r in prep:
        print(f"prepare, {r['workers']} worker(s) ({r['mode']}): {r['ratio']:.2f}x the plain loop")
    if args.write_results:
        _plot(train, os.path.join(HERE, "steps_vs_iterations.png"))
        with open(os.path.join(HERE, "RESULTS.md"), "w") as f:
            f.write(
                _results_md(
                    train,
                    evalpred,
                    mem,
                    replicas,
                    round_times,
                    penguins,
                    pipeline,
                    prep,
                    fallback,
                    estimator,
                    clients,
                )
            )
        print(f"wrote {os.path.join(HERE, 'RESULTS.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

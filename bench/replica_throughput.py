"""Engine train steps/s on one device vs MirroredStrategy over 1, 2 and 4 logical CPU devices.

Run: python -m bench.replica_throughput [--steps 1000 --repeats 3]
Same MLP (784-256-256-10, global batch 128, Adam) and iterations_per_loop=100 everywhere. On a
2-core machine logical CPUs share the same cores, so this measures the replication overhead,
not a speed-up.
"""

from __future__ import annotations

import argparse
import os
import statistics

from bench.scratch import cleaned_up

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

from bench import train_throughput as tt  # noqa: E402


def _logical_cpus(n: int) -> None:
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * n
        )
    except (
        RuntimeError
    ):  # TensorFlow already initialized: run python -m bench.replica_throughput first
        if len(tf.config.list_logical_devices("CPU")) < n:
            raise


def engine_steps_per_sec(x, y, steps: int, replicas: int | None) -> float:
    strategy = None
    if replicas:
        strategy = tf.distribute.MirroredStrategy(devices=[f"/cpu:{i}" for i in range(replicas)])
    return tt.engine(x, y, steps, 100, train_distribute=strategy)


@cleaned_up
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    _logical_cpus(4)
    x, y = tt._data()
    systems = {"one device": None, "mirrored x1": 1, "mirrored x2": 2, "mirrored x4": 4}
    samples = {name: [] for name in systems}
    for _ in range(args.repeats):  # interleaved, so machine noise hits every system alike
        for name, replicas in systems.items():
            samples[name].append(engine_steps_per_sec(x, y, args.steps, replicas))
    base = statistics.median(samples["one device"])
    print(f"{'system':>12} {'steps/s':>9} {'vs one device':>14}")
    results = {}
    for name, values in samples.items():
        rate = statistics.median(values)
        results[name] = {"steps_per_sec": rate, "ratio": rate / base}
        print(f"{name:>12} {rate:>9.1f} {rate / base:>14.3f}")
    return results


if __name__ == "__main__":
    main()

"""The built-in penguins model fed from prepared TFRecords through components.data (input
pipeline included): engine train steps/s vs a hand-written v1 loop on the same model_fn and input.

Run: python -m bench.penguins_input [--steps 3000 --iterations 1 100 --repeats 3]
(goal, as for the MLP: >= 0.97x the raw loop at iterations_per_loop=100)
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile

import tensorflow as tf

from bench import train_throughput as tt
from bench.scratch import cleaned_up

BATCH = 32  # the local pipeline's default train batch


def prepared_penguins(root: str) -> tuple[str, dict]:
    """Runs prepare on the embedded penguins.csv; returns (examples dir, default-model params)."""
    from components import artifacts, default_model, prepare
    from components.datasets import penguins_csv

    examples = os.path.join(root, "examples")
    prepare.run([penguins_csv()], examples, label="species")
    params = {
        **default_model.params,
        "schema_path": os.path.join(examples, artifacts.SCHEMA_FILE),
        "stats_path": os.path.join(examples, artifacts.STATS_FILE),
    }
    return examples, params


def measure(steps: int, iterations: list[int], repeats: int) -> dict:
    from components import data, default_model
    from components.schema import Schema

    root = tempfile.mkdtemp(prefix="bench_penguins_")
    try:
        examples, params = prepared_penguins(root)
        schema = Schema.load(params["schema_path"])
        input_fn = data.make_input_fn(examples, "train", schema, schema.label, seed=0)

        def raw_step(features, labels):
            spec = default_model.model_fn(features, labels, "train", params)
            return spec.train_op

        systems = {
            "engine": lambda k: tt.engine_steps_per_sec(
                default_model.model_fn, input_fn, BATCH, steps, k, params=params
            ),
            "raw v1 loop": lambda k: tt.raw_steps_per_sec(
                raw_step, lambda: input_fn({**params, "batch_size": BATCH}), steps, k
            ),
        }
        results = {}
        for k in iterations:
            samples = {name: [] for name in systems}
            for _ in range(repeats):  # interleaved: machine noise hits both alike
                for name, fn in systems.items():
                    samples[name].append(fn(k))
            rates = {name: statistics.median(v) for name, v in samples.items()}
            results[k] = {
                "steps_per_sec": rates,
                "ratio": rates["engine"] / rates["raw v1 loop"],
            }
        return results
    finally:
        shutil.rmtree(root, ignore_errors=True)


@cleaned_up
def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--iterations", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    results = measure(args.steps, args.iterations, args.repeats)
    print(f"{'iterations':>10} {'engine':>10} {'raw v1 loop':>12} {'engine / raw':>13}")
    for k, row in results.items():
        rates = row["steps_per_sec"]
        print(
            f"{k:>10} {rates['engine']:>10.0f} {rates['raw v1 loop']:>12.0f} {row['ratio']:>12.2f}x"
        )
    return results


if __name__ == "__main__":
    tf.compat.v1.logging.set_verbosity(tf.compat.v1.logging.ERROR)
    main()

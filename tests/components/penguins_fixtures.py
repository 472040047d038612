"""Penguins prepared, trained and evaluated once per test session, shared by the component tests.

Import the fixtures explicitly (`from tests.components.penguins_fixtures import ...`). pytest
makes one fixture per importing module, so the work itself is cached here, once per session.
"""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest

from components.datasets import penguins_csv

TRAIN_STEPS = 300
_CACHE: dict[str, object] = {}


def _once(key: str, make):
    if key not in _CACHE:
        _CACHE[key] = make()
    return _CACHE[key]


def _prepare(csv_path: str, out: str) -> str:
    from components import prepare

    prepare.run([csv_path], out, label="species")
    return out


@pytest.fixture(scope="session")
def penguins_examples(tmp_path_factory) -> str:
    """The prepare output for penguins.csv (train=289, eval=55)."""
    return _once(
        "examples",
        lambda: _prepare(penguins_csv(), str(tmp_path_factory.mktemp("penguins") / "examples")),
    )


@pytest.fixture(scope="session")
def penguins_model(tmp_path_factory, penguins_examples):
    """A TrainerResult: the built-in model trained TRAIN_STEPS steps (seed 0)."""

    def train():
        from components import trainer

        model_dir = str(tmp_path_factory.mktemp("penguins_model") / "model")
        return trainer.run(penguins_examples, model_dir, train_steps=TRAIN_STEPS, seed=0)

    return _once("model", train)


@pytest.fixture(scope="session")
def penguins_evaluation(tmp_path_factory, penguins_examples, penguins_model):
    """An EvaluatorResult for penguins_model (no thresholds, sliced by island)."""

    def evaluate():
        from components import evaluator

        out = str(tmp_path_factory.mktemp("penguins_eval") / "eval")
        return evaluator.run(penguins_examples, penguins_model.model_dir, out, slice_by=["island"])

    return _once("evaluation", evaluate)


@pytest.fixture(scope="session")
def binary_examples(tmp_path_factory) -> str:
    """Penguins with only Adelie and Gentoo: a two-class label (for AUC and ROC)."""

    def make():
        root = tmp_path_factory.mktemp("binary")
        with open(penguins_csv(), newline="") as f:
            rows = [r for r in csv.DictReader(f) if r["species"] in ("Adelie", "Gentoo")]
        path = root / "binary.csv"
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return _prepare(str(path), str(root / "examples"))

    return _once("binary", make)


def raw_penguin_rows(limit: int | None = None) -> dict[str, np.ndarray]:
    """penguins.csv rows as raw serving features: float32 (NaN for NA) and strings ("" for NA)."""
    with open(penguins_csv(), newline="") as f:
        rows = list(csv.DictReader(f))[:limit]
    strings = ("island", "sex")
    features = {}
    for name in rows[0]:
        if name == "species":
            continue
        values = [r[name] for r in rows]
        if name in strings:
            features[name] = np.array(["" if v == "NA" else v for v in values], dtype=object)
        else:
            features[name] = np.array(
                [math.nan if v in ("NA", "") else float(v) for v in values], np.float32
            )
    return features

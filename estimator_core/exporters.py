"""Exporters run after evaluations: keep the latest N exports, or only exports that beat the best."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable

import tensorflow as tf

from estimator_core.checks import positive_int

log = logging.getLogger("estimator_core")


def _versions(export_dir: str) -> list[str]:
    if not tf.io.gfile.isdir(export_dir):
        return []
    names = [n.rstrip("/") for n in tf.io.gfile.listdir(export_dir)]
    return sorted((n for n in names if n.isdigit()), key=int)


def _garbage_collect(export_dir: str, keep: int | None) -> None:
    if not keep:
        return
    for version in _versions(export_dir)[:-keep]:
        tf.io.gfile.rmtree(os.path.join(export_dir, version))


class Exporter:
    """Base: `export(...)` returns the new export path, or None when nothing was exported."""

    name: str

    def export(
        self,
        estimator,
        export_path: str,
        checkpoint_path: str,
        eval_result: dict,
        is_the_final_export: bool,
    ) -> str | None:
        raise NotImplementedError


class LatestExporter(Exporter):
    """Exports after every evaluation and keeps the newest `exports_to_keep` versions."""

    def __init__(
        self, name: str, serving_input_receiver_fn: Callable, exports_to_keep: int | None = 5
    ):
        self.name = name
        self._receiver_fn = serving_input_receiver_fn
        self._keep = positive_int("exports_to_keep", exports_to_keep, optional=True)

    def export(self, estimator, export_path, checkpoint_path, eval_result, is_the_final_export):
        path = estimator.export_saved_model(
            export_path, self._receiver_fn, checkpoint_path=checkpoint_path
        )
        _garbage_collect(export_path, self._keep)
        return path


class BestExporter(Exporter):
    """Exports only when `metric` improves on the best evaluation exported so far.

    The best value is remembered in `best.json` beside the exports, so it holds across runs.
    """

    def __init__(
        self,
        name: str,
        serving_input_receiver_fn: Callable,
        metric: str = "loss",
        higher_is_better: bool = False,
        exports_to_keep: int | None = 5,
    ):
        self.name = name
        self._receiver_fn = serving_input_receiver_fn
        self._metric = metric
        self._higher = higher_is_better
        self._keep = positive_int("exports_to_keep", exports_to_keep, optional=True)

    def _better(self, value: float, best: float | None) -> bool:
        if best is None:
            return True
        return value > best if self._higher else value < best

    def export(self, estimator, export_path, checkpoint_path, eval_result, is_the_final_export):
        if self._metric not in eval_result:
            raise ValueError(
                f"BestExporter {self.name!r}: metric {self._metric!r} is not in the evaluation "
                f"result (keys: {sorted(eval_result)})"
            )
        record = os.path.join(export_path, "best.json")
        best = None
        if tf.io.gfile.exists(record):
            with tf.io.gfile.GFile(record) as f:
                best = json.load(f)["value"]
        value = float(eval_result[self._metric])
        if not self._better(value, best):
            log.info(
                "BestExporter %s: %s %.6g does not beat %.6g; not exported",
                self.name,
                self._metric,
                value,
                best,
            )
            return None
        path = estimator.export_saved_model(
            export_path, self._receiver_fn, checkpoint_path=checkpoint_path
        )
        with tf.io.gfile.GFile(record + ".tmp", "w") as f:
            json.dump(
                {
                    "metric": self._metric,
                    "value": value,
                    "export": path,
                    "global_step": int(eval_result["global_step"]),
                },
                f,
            )
        tf.io.gfile.rename(record + ".tmp", record, overwrite=True)
        _garbage_collect(export_path, self._keep)
        return path

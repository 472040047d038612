"""Turns what input_fn returned (a Dataset, or a (features, labels) tuple) into per-step tensors."""

from __future__ import annotations

import dataclasses
from typing import Any

import tensorflow as tf


@dataclasses.dataclass
class InputSource:
    """Per-step input for the graph: `get_next()` gives (features, labels); `initializer` may be None.

    `is_dataset` is False for legacy input_fns that return tensors: those evaluate once per
    `session.run`, so the engine runs one step per loop for them.
    """

    dataset: tf.data.Dataset | None
    tensors: tuple[Any, Any] | None
    has_labels: bool

    def __post_init__(self):
        self._iterator = None
        if self.dataset is not None:
            self._iterator = tf.compat.v1.data.make_initializable_iterator(self.dataset)

    @property
    def is_dataset(self) -> bool:
        return self.dataset is not None

    @property
    def initializer(self):
        return self._iterator.initializer if self._iterator is not None else None

    def get_next(self) -> tuple[Any, Any]:
        """(features, labels) for one step; labels is None for features-only input."""
        if self._iterator is None:
            return self.tensors
        element = self._iterator.get_next()
        return split_element(element, self.has_labels)


def split_element(element, has_labels: bool):
    if has_labels:
        return element[0], element[1]
    return element, None


def _is_pair(structure) -> bool:
    return isinstance(structure, tuple) and len(structure) == 2


def make_input_source(result, mode: str) -> InputSource:
    """Validates input_fn's return value and wraps it; errors say what input_fn must return."""
    if isinstance(result, tf.data.Dataset):
        has_labels = _is_pair(result.element_spec)
        return InputSource(dataset=result, tensors=None, has_labels=has_labels)
    if isinstance(result, tuple) and len(result) == 2:
        features, labels = result
        return InputSource(dataset=None, tensors=(features, labels), has_labels=labels is not None)
    if isinstance(result, (dict, tf.Tensor, tf.SparseTensor)):
        return InputSource(dataset=None, tensors=(result, None), has_labels=False)
    raise ValueError(
        f"input_fn for mode {mode!r} must return a tf.data.Dataset of (features, labels) or "
        f"features, or a (features, labels) tuple of tensors; got {type(result).__name__}"
    )


def batch_size_of(features, labels) -> tf.Tensor:
    """The dynamic batch size: leading dimension of the first tensor in features (or labels)."""
    for tensor in tf.nest.flatten(features) + tf.nest.flatten(labels):
        if isinstance(tensor, tf.SparseTensor):
            return tf.cast(tensor.dense_shape[0], tf.int32)
        if isinstance(tensor, tf.Tensor) and tensor.shape.rank != 0:
            return tf.shape(tensor)[0]
    raise ValueError(
        "cannot find the batch dimension: features and labels hold no tensor of rank >= 1"
    )

"""Live graphs kept between calls: consecutive train/evaluate/predict calls with the same input_fn
(and hooks) reuse the built graph and open session instead of rebuilding and reloading.

Checkpoints on disk stay the source of truth: a reused training session is only trusted while
model_dir's latest checkpoint is the one it saved last; evaluation and prediction restore the
requested checkpoint into the live session on every call.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

import tensorflow as tf

log = logging.getLogger("estimator_core")
# The handles one mode's run keeps (train_graph.TrainGraph, evaluation.EvalGraph, ...).
StateT = TypeVar("StateT")


@dataclasses.dataclass
class LiveGraph(Generic[StateT]):
    """A built graph for one mode, its open session, and what it was built for."""

    key: tuple
    graph: tf.Graph
    session: tf.compat.v1.Session
    hooks: list
    state: StateT
    checkpoint: str | None = None  # the checkpoint whose values the session holds
    busy: bool = False  # a predict generator is still reading from it

    def matches(self, key: tuple) -> bool:
        return len(key) == len(self.key) and all(_same(a, b) for a, b in zip(key, self.key))


class GraphCache:
    """At most one live graph per mode; a different key replaces it."""

    def __init__(self):
        self._live: dict[str, LiveGraph] = {}

    def get(self, mode: str, key: tuple) -> LiveGraph | None:
        entry = self._live.get(mode)
        if entry is not None and entry.matches(key) and not entry.busy:
            log.debug("reusing the %s graph and session", mode)
            return entry
        return None

    def busy(self, mode: str) -> bool:
        entry = self._live.get(mode)
        return entry is not None and entry.busy

    def put(self, mode: str, entry: LiveGraph) -> None:
        self.evict(mode)
        self._live[mode] = entry

    def evict(self, mode: str) -> None:
        entry = self._live.pop(mode, None)
        if entry is not None:
            entry.session.close()

    def close(self) -> None:
        for mode in list(self._live):
            self.evict(mode)


def reuse_or_build(
    cache: GraphCache | None,
    mode: str,
    key: tuple,
    *,
    build: Callable[[], LiveGraph[StateT]],
    refresh: Callable[[LiveGraph[StateT]], None],
    share: Callable[[LiveGraph[StateT]], bool] = lambda live: True,
) -> tuple[LiveGraph[StateT], bool]:
    """(live graph, whether the cache holds it) for one call.

    A cached graph built for `key` is `refresh`ed (checkpoint restored) and reused; otherwise
    `build()` makes one, kept in the cache when `share(live)` allows it.
    """
    live = cache.get(mode, key) if cache is not None else None
    if live is not None:
        refresh(live)
        return live, True
    live = build()
    cached = cache is not None and share(live)
    if cached:
        cache.put(mode, live)
    return live, cached


@contextlib.contextmanager
def in_use(
    cache: GraphCache | None,
    mode: str,
    live: LiveGraph,
    cached: bool,
    evict_on: type[BaseException] | tuple = BaseException,
    busy: bool = False,
) -> Iterator[LiveGraph]:
    """One call's use of `live`: a failure (`evict_on`) evicts a cached graph, whose session
    may be in any state; a graph the cache does not hold is closed at the end. With `busy`,
    the graph is marked in use meanwhile (a predict generator still reading from it)."""
    live.busy = live.busy or busy
    try:
        yield live
    except evict_on:
        if cached:
            cache.evict(mode)
        raise
    finally:
        if busy:
            live.busy = False
        if not cached:
            live.session.close()


def _same(a, b) -> bool:
    # Functions and hooks must be the very same objects; plain values (predict_keys) equal.
    if isinstance(a, (str, int, float, tuple, type(None))):
        return a == b
    return a is b


def restartable(sources) -> bool:
    """Whether a graph fed by these input sources may serve another call: a Dataset's iterator
    is re-initialized on every call, but tensors input_fn returned (a one-shot iterator's
    get_next, a queue) keep their position in the session. The original rebuilt the graph on
    every call, so each call read such input from the start: those graphs are not kept."""
    return all(source.is_dataset for source in sources)


def call_key(input_fn, *objects) -> tuple:
    """What a cached graph must have been built for: the same input_fn, hooks and options."""
    return (input_fn, *objects)

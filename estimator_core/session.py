"""Session creation (restore, initialize, warm start) and a session that drives SessionRunHooks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import tensorflow as tf

from estimator_core.checkpoints import CheckpointError, checkpoint_initialized, is_graph_error

log = logging.getLogger("estimator_core")

v1 = tf.compat.v1


class HookedSession:
    """Runs fetches on a tf.compat.v1.Session with each hook's before_run/after_run around it.

    One `run` is one host round trip; with an in-graph loop that is `iterations_per_loop` steps,
    so hooks see one call per loop. Users' own SessionRunHooks work unchanged.
    """

    def __init__(
        self,
        session: v1.Session,
        hooks: Sequence[v1.train.SessionRunHook],
        substitute: Callable[[object], object] | None = None,
    ):
        """`substitute` maps each fetched leaf a hook asks for to what is fetched instead
        (training: reads of the global step become the loop's post-loop step)."""
        self.session = session
        self.hooks = list(hooks)
        self.should_stop = False
        self._callables: dict = {}
        self._substitute = substitute
        self._substituted: dict = {}
        for hook in self.hooks:
            hook.after_create_session(session, None)

    def run(self, fetches, feed_dict=None, options: v1.RunOptions | None = None, before=None):
        """One host round trip with the hooks around it. `before(feeds)`, when given, runs
        after the hooks' before_run and before the fetches (host-driven steps of a loop)."""
        context = v1.train.SessionRunContext(
            original_args=v1.train.SessionRunArgs(fetches, feed_dict), session=self.session
        )
        hook_args = [hook.before_run(context) for hook in self.hooks]
        feeds = dict(feed_dict or {})
        merged_options = v1.RunOptions()
        if options is not None:
            merged_options.MergeFrom(options)
        options = merged_options
        hook_fetches = []
        for args in hook_args:
            if args is None:
                hook_fetches.append(None)
                continue
            hook_fetches.append(self._hook_fetches(args.fetches))
            for key, value in (args.feed_dict or {}).items():
                if key in feeds:
                    raise RuntimeError(f"a hook feeds {key}, which is already fed")
                feeds[key] = value
            if args.options is not None:
                options.MergeFrom(args.options)
        if before is not None:
            before(feeds)
        run_metadata = v1.RunMetadata()
        fetch_all = [fetches, [f for f in hook_fetches if f is not None]]
        # Options and metadata only when some hook asked for them: collecting run metadata on
        # every loop costs time on the host loop's critical path.
        if options.ByteSize() > 0:
            results, extra = self.session.run(
                fetch_all, feed_dict=feeds or None, options=options, run_metadata=run_metadata
            )
        else:
            results, extra = self._run_callable(fetch_all, feeds)
        extra = iter(extra)
        for hook, fetched in zip(self.hooks, hook_fetches):
            value = next(extra) if fetched is not None else None
            hook.after_run(context, v1.train.SessionRunValues(value, options, run_metadata))
        if context.stop_requested:
            self.should_stop = True
        return results

    def _hook_fetches(self, fetches):
        """A hook's fetches with `substitute` applied, mapped once per fetch object (hooks
        hand the same object every run, and this runs on the host loop's critical path)."""
        if self._substitute is None or fetches is None:
            return fetches
        cached = self._substituted.get(id(fetches))
        if cached is not None and cached[0] is fetches:
            return cached[1]
        mapped = tf.nest.map_structure(self._substitute, fetches)
        if len(self._substituted) < 64:
            self._substituted[id(fetches)] = (fetches, mapped)  # holds fetches: id stays valid
        return mapped

    def _run_callable(self, fetch_all, feeds: dict):
        """session.run through a cached Session.make_callable for these fetches.

        session.run re-analyses the fetch structure on every call (~0.2 ms for the host loop's
        fetches, a fifth of a small training step); the loop asks for the same tensors each
        time, so the analysis is done once per distinct fetch structure. Runs with feeds go
        to session.run (make_callable has no fast path for them).
        """
        if feeds:
            return self.session.run(fetch_all, feed_dict=feeds)
        try:
            key = _signature(fetch_all)
            runner = self._callables.get(key)
        except TypeError:  # an unhashable fetch: let session.run handle it
            return self.session.run(fetch_all)
        if runner is None:
            if len(self._callables) >= 32:  # fetches that change every call: do not hoard
                self._callables.clear()
            runner = self._callables[key] = self.session.make_callable(fetch_all)
        return runner()

    def end(self) -> None:
        """Calls every hook's end() (normal completion or end of input only)."""
        for hook in self.hooks:
            hook.end(self.session)


def _signature(structure):
    """A hashable description of a fetch structure: its containers and the fetched objects."""
    kind = type(structure)
    if kind is list or kind is tuple:
        return (kind, *map(_signature, structure))
    if kind is dict:
        return (dict, *structure, *map(_signature, structure.values()))
    return structure  # a tensor, op or name (namedtuples and others compare by value)


def session_config(config) -> v1.ConfigProto:
    """The RunConfig's session config, or a default that lets ops fall back to the CPU."""
    if config.session_config is not None:
        return config.session_config
    return v1.ConfigProto(allow_soft_placement=True)


def _initialize(session: v1.Session, scaffold, checkpoint_path, warm_started) -> None:
    """Restores `checkpoint_path` if given, else initializes all variables; logs one report.

    Warm starting, when asked for, has already rewired the variables' initializers at graph
    construction, so initialization is where it applies (`warm_started`, a
    checkpoints.WarmStarted, says what it covers). Given a list of checkpoints (newest first),
    an unreadable one is reported and the next one is tried.
    """
    names = sorted(v.op.name for v in v1.global_variables())
    from_checkpoints = checkpoint_initialized(v1.global_variables())
    restored = None
    if checkpoint_path:
        restored = _restore_first_readable(session, scaffold.saver, checkpoint_path)
        warm_started = None  # a checkpoint's values replace any initializer
    else:
        session.run(scaffold.init_op, feed_dict=scaffold.init_feed_dict)
        if scaffold.init_fn is not None:
            scaffold.init_fn(session)
    _report_origins(names, restored, warm_started, from_checkpoints)
    if scaffold.local_init_op is not None:
        session.run(scaffold.local_init_op, feed_dict=scaffold.local_init_feed_dict)


def _report_origins(names: list[str], restored, warm_started, from_checkpoints=None) -> None:
    """Logs where every variable's value came from: one INFO summary, one DEBUG line each.

    Warm-started: by warm_start_from, or by init_from_checkpoint calls in model_fn or
    scaffold_fn (`from_checkpoints`: {variable: checkpoint}).
    """
    warm = dict(from_checkpoints or {})
    if warm_started is not None:
        warm.update({name: warm_started.source for name in warm_started.variables})
    missing = set(warm_started.missing) if warm_started is not None else set()
    counts = {"restored": 0, "fresh": 0}
    warm_counts: dict[str, int] = {}
    for name in names:
        if restored:
            counts["restored"] += 1
            origin = f"restored from {restored}"
        elif name in warm:
            warm_counts[warm[name]] = warm_counts.get(warm[name], 0) + 1
            origin = f"warm-started from {warm[name]}"
        else:
            counts["fresh"] += 1
            origin = "freshly initialized"
            if name in missing:
                origin += f" (no value in {warm_started.source})"
        log.debug("variable %s: %s", name, origin)
    restore_part = (
        f"restored {counts['restored']} variables from {restored}"
        if restored
        else "restored 0 variables (no checkpoint)"
    )
    if warm_counts:
        warm_part = "warm-started " + ", ".join(
            f"{n} from {source}" for source, n in sorted(warm_counts.items())
        )
    else:
        warm_part = "warm-started 0"
    log.info("%s; %s; freshly initialized %d", restore_part, warm_part, counts["fresh"])


def restore_into(session, saver, checkpoints: str | list[str]) -> str:
    """Restores the first readable of `checkpoints` (newest first) into a live session (a reused
    graph's); returns its path. New sessions report their restore in one summary instead."""
    with session.graph.as_default():
        path = _restore_first_readable(session, saver, checkpoints)
    log.info("Restored parameters from %s", path)
    return path


def _restore_first_readable(session, saver, checkpoints) -> str:
    candidates = [checkpoints] if isinstance(checkpoints, str) else list(checkpoints)
    first_error = None
    for path in candidates:
        log.debug("Restoring parameters from %s", path)
        try:
            saver.restore(session, path)
            return path
        except (tf.errors.OpError, ValueError) as e:  # truncated, missing or mismatched
            if is_graph_error(e):
                raise  # TensorFlow's own error, as the original's; no checkpoint is to blame
            error = CheckpointError(path, e)
            first_error = first_error or error
            if path != candidates[-1]:
                log.warning("%s; falling back to the previous checkpoint", error)
    raise first_error


def start_session(
    graph: tf.Graph,
    scaffold,
    hooks,
    checkpoint_path,
    replication,
    config,
    init_ops=(),
    warm_started=None,
) -> v1.Session:
    """Lets hooks add ops (begin), freezes the graph, opens a session restoring checkpoint_path
    (or initializing, see `_initialize`) and runs `init_ops` (TPU system initialization,
    summary writers) once in it."""
    with graph.as_default():
        for hook in hooks:
            hook.begin()
        scaffold.finalize()
        graph.finalize()
        session = v1.Session(
            target=replication.session_target,
            graph=graph,
            config=replication.session_config(session_config(config)),
        )
        try:
            _initialize(session, scaffold, checkpoint_path, warm_started)
            if init_ops:
                session.run(list(init_ops))
        except BaseException:
            session.close()
            raise
    return session

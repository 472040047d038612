"""HookedSession: hooks around each run, and the cached callables that keep short loops fast."""

import tensorflow as tf

from estimator_core.session import HookedSession

v1 = tf.compat.v1


class CountingSession(v1.Session):
    made = 0

    def make_callable(self, fetches, feed_list=None, accept_options=False):
        CountingSession.made += 1
        return super().make_callable(fetches, feed_list, accept_options)


class FetchAndFeedHook(v1.train.SessionRunHook):
    """Asks for a different tensor on alternate runs, and feeds a placeholder when given one."""

    def __init__(self, tensors, feed=None):
        self.tensors, self.feed, self.calls, self.seen = tensors, feed, 0, []

    def before_run(self, run_context):
        fetch = self.tensors[self.calls % len(self.tensors)]
        self.calls += 1
        return v1.train.SessionRunArgs(fetch, feed_dict=self.feed)

    def after_run(self, run_context, run_values):
        self.seen.append(run_values.results)


def test_repeated_fetches_reuse_one_callable_and_keep_their_structure():
    graph = tf.Graph()
    with graph.as_default():
        counter = v1.Variable(0, name="counter")
        bump = counter.assign_add(1)
        a, b = tf.constant(1.0), tf.constant([2, 3])
        hook = FetchAndFeedHook([a, b])
        with CountingSession(graph=graph) as session:
            session.run(counter.initializer)
            CountingSession.made = 0
            hooked = HookedSession(session, [hook])
            values = [hooked.run({"step": bump, "pair": [a, (b,)]}) for _ in range(6)]
            assert [v["step"] for v in values] == [1, 2, 3, 4, 5, 6]
            assert isinstance(values[0]["pair"], list) and isinstance(values[0]["pair"][1], tuple)
            assert values[-1]["pair"][0] == 1.0 and list(values[-1]["pair"][1][0]) == [2, 3]
            # The hook alternates between two fetches: two callables, reused afterwards.
            assert CountingSession.made == 2
            assert hook.seen[0] == 1.0 and list(hook.seen[1]) == [2, 3] and hook.seen[2] == 1.0
            # Same tensors in another structure: the result has that structure.
            assert hooked.run([bump, a])[1] == 1.0
            assert hooked.run((a,)) == (1.0,)


def test_runs_with_feeds_go_through_session_run():
    graph = tf.Graph()
    with graph.as_default():
        x = v1.placeholder(tf.float32, [])
        doubled = x * 2
        hook = FetchAndFeedHook([doubled], feed={x: 4.0})
        with v1.Session(graph=graph) as session:
            hooked = HookedSession(session, [hook])
            assert hooked.run(doubled) == 8.0
            assert hooked.run(doubled, feed_dict=None) == 8.0
            assert hook.seen == [8.0, 8.0]

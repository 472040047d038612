"""estimator_core.compat.metrics: contrib's streaming Pearson r and concat, over several batches."""

import numpy as np
import pytest
import tensorflow as tf

from estimator_core.compat.metrics import streaming_concat, streaming_pearson_correlation

v1 = tf.compat.v1
BATCHES = [
    (np.array([0.1, 0.5, 0.9]), np.array([0.0, 1.0, 1.5]), np.array([1.0, 1.0, 0.0])),
    (np.array([2.0, -1.0, 0.3]), np.array([1.8, -0.5, 0.0]), np.array([1.0, 1.0, 1.0])),
]


def run_batches(build):
    with tf.Graph().as_default():
        p = v1.placeholder(tf.float32, [None])
        y = v1.placeholder(tf.float32, [None])
        w = v1.placeholder(tf.float32, [None])
        value, update = build(p, y, w)
        with v1.Session() as session:
            session.run(v1.local_variables_initializer())
            for batch in BATCHES:
                session.run(update, dict(zip((p, y, w), batch)))
            return session.run(value)


def test_pearson_r_is_the_weighted_correlation_of_every_batch_seen():
    got = run_batches(lambda p, y, w: streaming_pearson_correlation(p, y, weights=w))
    x, y, w = (np.concatenate(parts) for parts in zip(*BATCHES))
    keep = w > 0  # weights of 0 and 1: the correlation of the kept pairs
    want = np.corrcoef(x[keep], y[keep])[0, 1]
    assert got == pytest.approx(want, abs=1e-6)


def test_concat_holds_every_batch_in_order():
    got = run_batches(lambda p, y, w: streaming_concat(p))
    np.testing.assert_allclose(got, np.concatenate([b[0] for b in BATCHES]), atol=0)
    capped = run_batches(lambda p, y, w: streaming_concat(p, max_size=4))
    np.testing.assert_allclose(capped, np.concatenate([b[0] for b in BATCHES])[:4], atol=0)

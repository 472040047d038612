"""estimator_core.compat.image and .hparams: contrib.image's transforms and contrib.training's
HParams, as EfficientNet's autoaugment uses them."""

import math

import numpy as np
import pytest
import tensorflow as tf

from estimator_core.compat.hparams import HParams
from estimator_core.compat.image import rotate, transform, translate

IMAGE = np.arange(1, 17, dtype=np.uint8).reshape(4, 4, 1)


def test_translate_shifts_right_and_down_filling_zeros():
    right = translate(IMAGE, [1, 0]).numpy()[..., 0]
    np.testing.assert_array_equal(right[:, 1:], IMAGE[:, :-1, 0])
    np.testing.assert_array_equal(right[:, 0], 0)
    down = translate(IMAGE[..., 0], [0, 2]).numpy()  # rank 2 works too
    np.testing.assert_array_equal(down[2:], IMAGE[:2, :, 0])
    np.testing.assert_array_equal(down[:2], 0)


def test_rotate_by_a_quarter_turn_is_rot90_counterclockwise():
    got = rotate(IMAGE[None], math.pi / 2).numpy()
    np.testing.assert_array_equal(got, tf.image.rot90(IMAGE[None], k=1).numpy())


def test_transform_identity_and_shear_keep_dtype_and_shape():
    same = transform(IMAGE, [1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0])
    assert same.dtype == tf.uint8
    np.testing.assert_array_equal(same.numpy(), IMAGE)
    sheared = transform(IMAGE, [1.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]).numpy()[..., 0]
    np.testing.assert_array_equal(sheared[1, :3], IMAGE[1, 1:, 0])  # row y reads x + y


def test_hparams_hold_parse_and_refuse_unknown_names():
    hp = HParams(cutout_const=100, translate_const=250.0, name="x", flag=False)
    assert hp.cutout_const == 100 and "translate_const" in hp
    hp.parse("cutout_const=40,translate_const=1.5,flag=true")
    assert hp.values() == {
        "cutout_const": 40,
        "translate_const": pytest.approx(1.5, abs=0),
        "name": "x",
        "flag": True,
    }
    with pytest.raises(ValueError, match="unknown hyperparameter 'nope'"):
        hp.set_hparam("nope", 1)
    with pytest.raises(ValueError, match="already exists"):
        hp.add_hparam("values", 1)


def test_hparams_a_none_hyperparameter_can_be_added_again_as_in_contrib():
    hp = HParams(num_shards=None, lr=0.1)
    hp.add_hparam("num_shards", 8)  # contrib refused only names holding a value
    assert hp.num_shards == 8 and list(hp.values()) == ["num_shards", "lr"]
    with pytest.raises(ValueError, match="'num_shards' already exists"):
        hp.add_hparam("num_shards", 4)


def test_hparams_set_casts_to_the_added_type_as_contrib_did():
    hp = HParams(weight_decay=4e-5, cells=6, name="a", flag=True, sizes=[1, 2], extra=None)
    hp.set_hparam("weight_decay", 0)  # AmoebaNet's eval: then l2_regularizer(0.0), not 0
    assert type(hp.weight_decay) is float and hp.weight_decay == pytest.approx(0.0, abs=0)
    hp.set_hparam("sizes", [3, 4])
    hp.set_hparam("extra", "anything")
    assert hp.sizes == [3, 4] and hp.extra == "anything"
    for name, value in (("cells", 2.5), ("flag", 1), ("name", 3), ("cells", True), ("sizes", 3)):
        with pytest.raises(ValueError, match=repr(name)):
            hp.set_hparam(name, value)

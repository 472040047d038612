"""A model trained once per test module, shared by the evaluate/predict/export tests."""

import pytest

from .fakes import estimator, train_input_fn


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    model_dir = tmp_path_factory.mktemp("model")
    estimator(model_dir).train(train_input_fn(), max_steps=20)
    return model_dir

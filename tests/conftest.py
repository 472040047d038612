"""Test session setup: four logical CPU devices, so replication runs on this 2-core machine,
and temporary files kept under pytest's base directory."""

import contextlib
import os
import sys
import tempfile

import pytest

from tests.processes import Spawned

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402

# RuntimeError: the runtime was initialized already (e.g. by an earlier import).
with contextlib.suppress(RuntimeError):
    tf.config.set_logical_device_configuration(
        tf.config.list_physical_devices("CPU")[0], [tf.config.LogicalDeviceConfiguration()] * 4
    )


@pytest.fixture(scope="session", autouse=True)
def _temporary_files_under_pytests_base(tmp_path_factory):
    """Temporary directories made by the code under test (estimators without a model_dir,
    kfp.local workspaces, Beam temp dirs, subprocesses) go under pytest's own base, which
    pytest prunes, instead of piling up in the system temp directory."""
    scratch = str(tmp_path_factory.mktemp("system-tmp"))
    saved_env, saved_tempdir = os.environ.get("TMPDIR"), tempfile.tempdir
    os.environ["TMPDIR"] = tempfile.tempdir = scratch
    yield
    tempfile.tempdir = saved_tempdir
    if saved_env is None:
        os.environ.pop("TMPDIR", None)
    else:
        os.environ["TMPDIR"] = saved_env


@pytest.fixture
def spawn():
    """subprocess.Popen for a test: whatever is still running at teardown is killed (its process
    group, when started with start_new_session), whether the test passed or failed."""
    spawned = Spawned()
    yield spawned
    spawned.end_all()


_KERAS_CHOICE = os.environ.get("TF_USE_LEGACY_KERAS")  # the session's, as it started


@pytest.fixture(autouse=True)
def _keras_choice_stays(request):
    """Fails a test that switches the session to tf-keras (importing compat.legacy_keras sets
    TF_USE_LEGACY_KERAS=1, at collection or in the test): every later test, and every Python
    they start, would inherit it. Such imports belong in a subprocess."""
    _check_keras_choice("before", request.node.nodeid)
    yield
    _check_keras_choice("after", request.node.nodeid)


def _check_keras_choice(when: str, test: str) -> None:
    switched = os.environ.get("TF_USE_LEGACY_KERAS")
    if switched == _KERAS_CHOICE or "tensorflow_transform" in sys.modules:
        return  # (TFX's tensorflow_transform switches its process to Keras 2 on import)
    if _KERAS_CHOICE is None:  # put the session's choice back, then fail this one test
        del os.environ["TF_USE_LEGACY_KERAS"]
    else:
        os.environ["TF_USE_LEGACY_KERAS"] = _KERAS_CHOICE
    pytest.fail(f"TF_USE_LEGACY_KERAS={switched!r} {when} {test}: switch it in a subprocess")

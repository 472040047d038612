"""Loading user model code: the contract and every error naming its problem."""

import textwrap

import pytest

from components import module_file
from components.module_file import ModuleFileError


def write(tmp_path, text, name="user_model.py"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return str(path)


def test_default_module_loads_when_no_source_is_given():
    module = module_file.load(None)
    assert module.source == "components.default_model"
    assert module.params["hidden_units"] == [32, 16]
    assert module.serving_input_receiver_fn is None and module.sha256 is None


def test_a_file_with_every_optional_function_loads(tmp_path):
    write(tmp_path, "HELPER = 3\n", name="helper.py")
    path = write(
        tmp_path,
        """
        from helper import HELPER  # a sibling import works

        params = {"hidden": HELPER}

        def model_fn(features, labels, mode, params):
            raise NotImplementedError

        def serving_input_receiver_fn(schema):
            return schema

        def make_input_fn(examples_dir, split, training):
            return (examples_dir, split, training)
        """,
    )
    module = module_file.load(path)
    assert module.params == {"hidden": 3}
    assert len(module.sha256) == 64
    assert module.call_serving_input_receiver_fn("S", {"p": 1}) == "S"
    assert module.call_make_input_fn(
        examples_dir="E", split="train", schema=None, label="y", training=True, seed=1
    ) == ("E", "train", True)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(ModuleFileError, match="module file not found: .*nope.py"):
        module_file.load(str(tmp_path / "nope.py"))


def test_unknown_module_name_is_named():
    with pytest.raises(ModuleFileError, match="module 'no_such_pkg.models' not found"):
        module_file.load("no_such_pkg.models")


def test_import_failure_carries_the_traceback(tmp_path):
    path = write(
        tmp_path,
        """
        def helper():
            raise RuntimeError("boom at import")

        helper()
        """,
    )
    with pytest.raises(ModuleFileError) as info:
        module_file.load(path)
    message = str(info.value)
    assert f"module file {path} failed at import: RuntimeError: boom at import" in message
    assert "Traceback" in message and "in helper" in message


def test_syntax_error_is_an_import_failure(tmp_path):
    path = write(tmp_path, "def model_fn(:\n")
    with pytest.raises(ModuleFileError, match="failed at import: SyntaxError"):
        module_file.load(path)


def test_module_without_model_fn(tmp_path):
    path = write(tmp_path, "params = {}\n")
    with pytest.raises(ModuleFileError, match="defines no `model_fn`"):
        module_file.load(path)


def test_model_fn_with_a_bad_signature(tmp_path):
    path = write(tmp_path, "def model_fn(x, y):\n    pass\n")
    with pytest.raises(ModuleFileError, match=r"bad model_fn: .*unexpected arguments \['x', 'y'\]"):
        module_file.load(path)


def test_model_fn_that_is_not_callable(tmp_path):
    path = write(tmp_path, "model_fn = 3\n")
    with pytest.raises(ModuleFileError, match="bad model_fn: model_fn must be callable"):
        module_file.load(path)


@pytest.mark.parametrize(
    "extra, message",
    [
        ("params = [1]", "params must be a dict, got list"),
        ("params = {'schema_path': 'x'}", r"must not set \['schema_path'\]"),
        ("serving_input_receiver_fn = 1", "serving_input_receiver_fn must be a function"),
        ("def make_input_fn(path): pass", r"make_input_fn has unexpected arguments \['path'\]"),
    ],
)
def test_bad_optional_names(tmp_path, extra, message):
    path = write(tmp_path, f"def model_fn(features):\n    pass\n{extra}\n")
    with pytest.raises(ModuleFileError, match=message):
        module_file.load(path)

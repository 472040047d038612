"""Each step's parameters are one dataclass; every face (library, CLI, KFP, TFX) has its fields.

A face that leaves a field out names it below with the reason; a new field that a face does
not take (and is not listed) fails these tests.
"""

import dataclasses
import inspect

import pytest

from components import step_args
from components.evaluator.args import EvaluatorArgs
from components.exporter.args import ExporterArgs
from components.prepare.args import PrepareArgs
from components.trainer.args import TrainerArgs
from pipelines.tpuest import build_parser

STEPS = {
    # step: (args class, CLI command, KFP module, KFP function, library module)
    "prepare": (PrepareArgs, "prepare", "components.prepare.component", "prepare",
                "components.prepare.prepare"),
    "trainer": (TrainerArgs, "train", "components.trainer.component", "trainer",
                "components.trainer.train"),
    "evaluator": (EvaluatorArgs, "evaluate", "components.evaluator.component", "evaluator",
                  "components.evaluator.evaluate"),
    "exporter": (ExporterArgs, "export", "components.exporter.component", "exporter",
                 "components.exporter.export"),
}  # fmt: skip

# Fields a KFP component leaves out, and why.
KFP_LEAVES_OUT = {
    "prepare": {
        "overwrite": "always True: KFP may pre-create the artifact directory, which is the step's",
    },
    "trainer": {},
    "evaluator": {
        "checkpoint": "a pipeline evaluates the model artifact's latest checkpoint",
    },
    "exporter": {
        "checkpoint": "the blessing names the checkpoint (and the digest of its weights)",
    },
}
# KFP parameters that are not fields, and why.
KFP_ONLY = {
    "prepare": {
        "input_pattern": "the inputs (comma-separated patterns), not a parameter of the work",
        "cache_key": "a fingerprint for KFP's cache; the step does not use it",
    },
    "trainer": {
        "iterations_per_loop_budget": "iterations_per_loop is int or str; a KFP parameter has "
        "one type, so the time budget ('30s') is a second parameter that replaces it",
    },
    "evaluator": {},
    "exporter": {"export_base": "an output location (the pushed_model artifact by default)"},
}
# KFP defaults that are written differently from the field's default, and why.
KFP_DEFAULT_FORM = {
    ("prepare", "beam_options"): ("", "one shell-quoted string of flags"),
    ("evaluator", "thresholds"): ([], "KFP lists"),
    ("evaluator", "slice_by"): ([], "KFP lists"),
}
_PARAMETER_TYPES = {"String", "Integer", "Float", "Boolean", "List", "Dict"}


def kfp_parameters(step: str) -> dict:
    _, _, module, name, _ = STEPS[step]
    component = getattr(__import__(module, fromlist=[name]), name)
    inputs = component.component_spec.inputs
    return {k: v for k, v in inputs.items() if v.type in _PARAMETER_TYPES}


@pytest.mark.parametrize("step", sorted(STEPS))
def test_the_kfp_component_takes_every_field_but_those_listed(step):
    cls = STEPS[step][0]
    fields = set(step_args.fields(cls))
    parameters = set(kfp_parameters(step))
    assert parameters - fields == set(KFP_ONLY[step]), "a KFP-only parameter needs a reason"
    assert fields - parameters == set(KFP_LEAVES_OUT[step]), "a field left out needs a reason"


@pytest.mark.parametrize("step", sorted(STEPS))
def test_kfp_defaults_are_the_field_defaults_or_their_none_value(step):
    cls = STEPS[step][0]
    parameters = kfp_parameters(step)
    for name, field in step_args.fields(cls).items():
        if name not in parameters:
            continue
        default = step_args.default_of(field)
        if (step, name) in KFP_DEFAULT_FORM:
            expected = KFP_DEFAULT_FORM[(step, name)][0]
        elif default is None:
            expected = field.metadata["kfp_none"]
            assert expected is not None, f"{name}: a None default needs a kfp_none value"
        elif default is step_args.MISSING:
            expected = None  # required on both faces
        else:
            expected = default
        assert parameters[name].default == expected, name


@pytest.mark.parametrize("step", sorted(STEPS))
def test_the_kfp_defaults_build_the_default_args(step):
    cls = STEPS[step][0]
    values = {name: spec.default for name, spec in kfp_parameters(step).items()}
    required = {"train_steps": 7} if step == "trainer" else {}
    values.update(required)
    if step == "prepare":
        values["beam_options"] = []  # the component splits its string
    assert step_args.from_kfp(cls, values) == cls(**required)


@pytest.mark.parametrize("step", sorted(STEPS))
def test_the_cli_has_one_flag_per_field_with_its_help_and_default(step):
    cls, command = STEPS[step][:2]
    parser = build_parser(command)
    (sub,) = [a for a in parser._actions if a.dest == "command"]
    actions = {a.dest: a for a in sub.choices[command]._actions}
    for name, field in step_args.fields(cls).items():
        action = actions[name]
        assert step_args.flag_of(field) in action.option_strings
        assert action.help.startswith(field.metadata["help"].replace("%", "%%"))
        default = step_args.default_of(field)
        if default is step_args.MISSING:
            assert action.required
        elif action.default != []:  # append actions collect into a list
            assert action.default == default, name


@pytest.mark.parametrize("step", sorted(STEPS))
def test_the_library_run_takes_the_args_or_their_fields(step):
    cls, _, _, _, module = STEPS[step]
    run = __import__(module, fromlist=["run"]).run
    parameters = inspect.signature(run).parameters
    assert parameters["args"].annotation in (cls, f"{cls.__name__} | None")
    assert parameters["fields"].kind is inspect.Parameter.VAR_KEYWORD


def test_the_tfx_custom_config_takes_every_trainer_field_but_those_tfx_sets():
    from components.trainer import tfx

    fields = set(step_args.fields(TrainerArgs))
    own = {"label", "model_module", "eval_batch_size"}  # run_fn's own keys
    assert set(tfx.CUSTOM_CONFIG_KEYS) - own == fields - set(tfx.TFX_SETS)
    assert set(tfx.TFX_SETS) <= fields


@pytest.mark.parametrize("step", sorted(STEPS))
def test_every_field_has_help(step):
    for field in dataclasses.fields(STEPS[step][0]):
        assert field.metadata.get("help", "").strip(), field.name


def test_a_refused_value_names_the_flag_on_the_cli():
    parser = build_parser("train")
    args = parser.parse_args(["train", "--examples", ".", "--model-dir", "m", "--train-steps", "0"])
    with pytest.raises(Exception, match="train: --train-steps: must be a positive int, got 0"):
        step_args.from_namespace(TrainerArgs, args, "train", params={})

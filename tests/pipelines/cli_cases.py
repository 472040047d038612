"""Bad-value cases for the `tpuest pipeline` flags this package derives (pipeline parameters,
hardware, the KFP server), for tests/components/test_cli_arguments.py: generated from the same
definitions as the flags, so a new pipeline parameter gets its case without a list to update."""

import pipelines.submit
from pipelines.parameters import flag_of
from pipelines.training_pipeline import PARAMETERS

KFP_COMMANDS = ("pipeline compile", "pipeline submit", "pipeline schedule")
SERVER_COMMANDS = ("pipeline submit", "pipeline schedule")
# What the run command sets itself: not flags there.
RUN_SETS = ("export_base", "baseline_model_uri", "warm_start_from", "prepare_cache_key")

BASE = {
    "pipeline submit": ["pipeline", "submit", "--host", "http://127.0.0.1:9", "--experiment",
                        "e", "--param", "input_pattern=x"],
}  # fmt: skip
# Step work the cases must never reach, beside the ones test_cli_arguments lists.
WORK = [(pipelines.submit, "submit")]

_BAD_BY_TYPE = {int: "x", float: "x", list: "", dict: "no-equals-sign", str: " "}
_BAD_BY_NAME = {"thresholds": "accuracy", "input_pattern": "{missing}/*.csv"}
_HARDWARE = [
    ("--resources", ["--resources", "trainer:cpu=x"]),
    ("--resources", ["--resources", "trainr:cpu=1"]),
    ("--limits", ["--limits", "trainer:memory=1.5Gi"]),
    ("--limits", ["--resources", "trainer:cpu=8", "--limits", "trainer:cpu=4"]),
    ("--trainer-gpus", ["--trainer-gpus", "-1"]),
    ("--trainer-gpu-type", ["--trainer-gpu-type", "nvidia-l4"]),
    ("--trainer-tpu", ["--trainer-tpu", "tpu-v9", "--trainer-tpu-topology", "2x2"]),
    ("--trainer-tpu-topology", ["--trainer-tpu", "tpu-v5-lite-podslice",
                                "--trainer-tpu-topology", "4x4"]),
    ("--node-selector", ["--node-selector", "trainer:no value"]),
    ("--toleration", ["--toleration", "trainer:dedicated=ml:Never"]),
    ("--pvc", ["--pvc", "checkpoints=relative/path"]),
]  # fmt: skip
_SERVER = [
    ("--host", ["--host", "http://user:secret@kfp:8888"]),
    ("--host", ["--host", "http://kfp:8888/?token=secret"]),
    ("--experiment", ["--experiment", ""]),
    ("--namespace", ["--namespace", ""]),
    ("--token-file", ["--token-file", "{missing}"]),
    ("--sa-token-path", ["--sa-token-path", "{missing}"]),
    ("--iap-client-id", ["--iap-client-id", ""]),
    ("--cookies-file", ["--cookies-file", "{missing}"]),
    ("--ssl-ca-cert", ["--ssl-ca-cert", "{missing}"]),
]


def _parameter_cases(command: str) -> list:
    cases = []
    for name, parameter in PARAMETERS.items():
        if parameter.annotation is bool or (command == "pipeline run" and name in RUN_SETS):
            continue  # a flag without a value (EXEMPT), or not a flag of `run`
        if name == "input_pattern" and command != "pipeline run":
            bad = " "
        else:
            bad = _BAD_BY_NAME.get(name, _BAD_BY_TYPE[parameter.annotation])
        cases.append((command, flag_of(name), [flag_of(name), bad]))
    return cases


CASES = [
    *[case for command in (*KFP_COMMANDS, "pipeline run") for case in _parameter_cases(command)],
    *[(c, flag, bad) for c in (*KFP_COMMANDS, "pipeline run") for flag, bad in _HARDWARE],
    *[(c, flag, bad) for c in SERVER_COMMANDS for flag, bad in _SERVER],
    ("pipeline compile", "--param", ["--param", "input_pattern"]),
    ("pipeline compile", "--param", ["--param", "no_such_parameter=1"]),
    ("pipeline submit", "--param", ["--param", "trian_steps=5"]),
    ("pipeline submit", "--name", ["--name", " "]),
    ("pipeline run", "--runner", ["--runner", "kubernetes"]),
    ("pipeline run", "--image", ["--image", ""]),
]
EXEMPT = {
    **{
        (command, "--no-" + name.replace("_", "-")): "a flag without a value"
        for command in (*KFP_COMMANDS, "pipeline run")
        for name, parameter in PARAMETERS.items()
        if parameter.annotation is bool
    },
    **{(command, "--no-cache"): "a flag without a value" for command in SERVER_COMMANDS},
}

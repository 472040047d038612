"""Hardware at compile time: each setting lands in the compiled IR where the KFP backend reads it
(the executor's container resources; the Kubernetes platform spec for node selectors,
tolerations and volumes)."""

import re
from pathlib import Path

import pytest
import yaml

from pipelines.compile import compile_pipeline
from pipelines.resources import Hardware, StepResources, Toleration, TpuSlice
from pipelines.tpuest import main

V5E_2X4 = ["--trainer-tpu", "tpu-v5-lite-podslice", "--trainer-tpu-topology", "2x4"]


def compiled(path: Path) -> tuple[dict, dict]:
    """(pipeline spec, the Kubernetes platform spec's executors) of a compiled file."""
    documents = list(yaml.safe_load_all(path.read_text()))
    platform = documents[1]["platforms"]["kubernetes"]["deploymentSpec"]["executors"]
    return documents[0], platform


def resources(spec: dict, step: str) -> dict:
    return spec["deploymentSpec"]["executors"][f"exec-{step}"]["container"].get("resources", {})


def test_a_v5e_tpu_trainer_compiles_to_node_selectors_and_a_tpu_limit(tmp_path):
    out = tmp_path / "tpu.yaml"
    argv = ["pipeline", "compile", "-o", str(out), *V5E_2X4, "--param", "use_tpu=true"]
    argv += ["--resources", "trainer:cpu=8,memory=32Gi", "--limits", "trainer:memory=64Gi"]
    argv += ["--resources", "prepare:cpu=2", "--toleration", "trainer:dedicated=ml:NoSchedule"]
    assert main(argv) == 0
    spec, platform = compiled(out)
    trainer = resources(spec, "trainer")
    assert trainer["accelerator"]["resourceType"] == "google.com/tpu"
    assert trainer["accelerator"]["resourceCount"] == "8"  # 2x4 chips
    assert trainer["resourceCpuRequest"] == "8"
    assert trainer["resourceMemoryRequest"] == "32Gi"
    assert trainer["resourceMemoryLimit"] == "64Gi"
    assert resources(spec, "prepare")["resourceCpuRequest"] == "2"
    assert resources(spec, "evaluator") == {}  # only what was asked for
    assert platform["exec-trainer"]["nodeSelector"]["labels"] == {
        "cloud.google.com/gke-tpu-accelerator": "tpu-v5-lite-podslice",
        "cloud.google.com/gke-tpu-topology": "2x4",
    }
    assert platform["exec-trainer"]["tolerations"] == [
        {"key": "dedicated", "operator": "Equal", "value": "ml", "effect": "NoSchedule"}
    ]
    assert set(platform) == {"exec-trainer"}
    env = spec["deploymentSpec"]["executors"]["exec-trainer"]["container"]["env"]
    assert {"name": "TPU_NAME", "value": "local"} in env  # the TPU VM the pod lands on
    assert spec["root"]["inputDefinitions"]["parameters"]["use_tpu"]["defaultValue"] is True


def test_a_one_gpu_trainer_compiles_to_a_gpu_limit_and_its_type(tmp_path):
    out = tmp_path / "gpu.yaml"
    argv = ["pipeline", "compile", "-o", str(out), "--trainer-gpus", "1"]
    assert (
        main([*argv, "--trainer-gpu-type", "nvidia-l4", "--node-selector", "trainer:pool=a"]) == 0
    )
    spec, platform = compiled(out)
    accelerator = resources(spec, "trainer")["accelerator"]
    assert (accelerator["resourceType"], accelerator["resourceCount"]) == ("nvidia.com/gpu", "1")
    assert platform["exec-trainer"]["nodeSelector"]["labels"] == {
        "pool": "a",
        "cloud.google.com/gke-accelerator": "nvidia-l4",
    }


def test_a_pvc_is_mounted_into_every_task(tmp_path):
    hardware = Hardware(volumes=(("checkpoints", "/mnt/checkpoints"),))
    _, platform = compiled(Path(compile_pipeline(str(tmp_path / "p.yaml"), hardware=hardware)))
    assert len(platform) == 5
    for executor in platform.values():
        [mount] = executor["pvcMount"]
        assert mount["mountPath"] == "/mnt/checkpoints"
        assert mount["pvcNameParameter"]["runtimeValue"]["constant"] == "checkpoints"


def test_no_hardware_compiles_exactly_as_before(tmp_path):
    plain = Path(compile_pipeline(str(tmp_path / "a.yaml"))).read_text()
    default = Path(compile_pipeline(str(tmp_path / "b.yaml"), hardware=Hardware())).read_text()
    assert plain == default and "---" not in plain  # no platform spec at all


def test_cpu_and_memory_alone_need_no_kfp_kubernetes():
    assert not Hardware(steps={"trainer": StepResources(cpu_request="4")}).needs_kubernetes
    assert Hardware(trainer_tpu=TpuSlice("tpu-v6e-slice", "2x2")).needs_kubernetes


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: TpuSlice("tpu-v5-lite-podslice", "4x4"), "spans more than one host"),
        (lambda: TpuSlice("tpu-v5-lite-podslice", "2x2x1"), "must have 2 dimensions"),
        (lambda: TpuSlice("tpu-v9", "2x2"), "is not one of"),
        (
            lambda: Hardware(trainer_gpus=1, trainer_tpu=TpuSlice("tpu-v4-podslice", "2x2x1")),
            "not both",
        ),
        (lambda: Hardware(trainer_gpu_type="nvidia-l4"), "needs trainer_gpus"),
        (lambda: Hardware(steps={"trainr": StepResources()}), "'trainr' is not one of"),
        (
            lambda: Hardware(steps={"trainer": StepResources(cpu_request="4 cores")}),
            "trainer cpu_request",
        ),
        (lambda: Hardware(steps={"trainer": StepResources(memory_limit="1.5Gi")}), "no decimals"),
        (
            lambda: Hardware(steps={"trainer": StepResources(cpu_request="8", cpu_limit="4")}),
            "exceeds",
        ),
        (lambda: Toleration.parse("dedicated=ml:Never"), "toleration effect 'Never'"),
    ],
)
def test_bad_hardware_settings_are_refused_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"use_tpu": False}, "use_tpu is false"),
        (
            {"use_tpu": True, "num_shards": 4},
            "num_shards 4 does not match TPU topology 2x4 (8 chips",
        ),
    ],
)
def test_tpu_parameters_are_checked_against_the_slice(tmp_path, parameters, message):
    hardware = Hardware(trainer_tpu=TpuSlice("tpu-v5-lite-podslice", "2x4"))
    with pytest.raises(ValueError, match=re.escape(message)):
        compile_pipeline(str(tmp_path / "p.yaml"), hardware=hardware, defaults=parameters)
    assert not (tmp_path / "p.yaml").exists()
    for shards in (0, 8):
        compile_pipeline(
            str(tmp_path / "p.yaml"),
            hardware=hardware,
            defaults={"use_tpu": True, "num_shards": shards},
        )


def test_a_local_run_accepts_hardware_and_says_once_it_does_not_apply(
    tmp_path, monkeypatch, capsys
):
    import pipelines.local as local

    runs = []
    monkeypatch.setattr(local, "run_local", lambda **kwargs: runs.append(kwargs) or "record")
    monkeypatch.setattr(local, "summary", lambda record: f"summary of {record}")
    data = tmp_path / "data.csv"
    data.write_text("x,species\n1,a\n")
    argv = ["pipeline", "run", "--local", "--input", str(data), "--root", str(tmp_path / "runs")]
    assert main([*argv, "--trainer-gpus", "2", "--resources", "trainer:cpu=4"]) == 0
    said = [line for line in capsys.readouterr().err.splitlines() if "do not apply" in line]
    assert len(said) == 1 and "2 GPU(s)" in said[0] and "cpu_request=4" in said[0]
    assert len(runs) == 1

"""What each pipeline task asks Kubernetes for: CPU/memory, the trainer's GPUs or GKE TPU slice,
node selectors, tolerations and persistent volumes, applied with the KFP SDK and kfp-kubernetes."""

from __future__ import annotations

import dataclasses
import math
import re
from collections.abc import Mapping

# The pipeline's tasks, by the names the compiled pipeline gives them.
STEPS = ("prepare", "trainer", "evaluator", "report", "exporter")

GPU_RESOURCE = "nvidia.com/gpu"
GPU_TYPE_SELECTOR = "cloud.google.com/gke-accelerator"
TPU_RESOURCE = "google.com/tpu"
TPU_ACCELERATOR_SELECTOR = "cloud.google.com/gke-tpu-accelerator"
TPU_TOPOLOGY_SELECTOR = "cloud.google.com/gke-tpu-topology"

# GKE TPU accelerators (the gke-tpu-accelerator label) and their single-host topologies: a
# pipeline task is one pod, so it gets at most one TPU VM host. Every chip of these is one TPU
# device to TensorFlow (v4 and v5p chips run their two TensorCores as one megacore).
SINGLE_HOST_TOPOLOGIES = {
    "tpu-v4-podslice": ("2x2x1",),
    "tpu-v5-lite-podslice": ("1x1", "2x2", "2x4"),
    "tpu-v5-lite-device": ("1x1", "2x2", "2x4"),
    "tpu-v5p-slice": ("2x2x1",),
    "tpu-v6e-slice": ("1x1", "2x2", "2x4"),
}
TOLERATION_EFFECTS = ("NoSchedule", "PreferNoSchedule", "NoExecute")
KUBERNETES_EXTRA = "pip install 'tpuest[kubernetes]' (kfp-kubernetes)"

_CPU = re.compile(r"^(\d+(\.\d+)?|\d+m)$")
_MEMORY = re.compile(r"^(\d+)(E|Ei|P|Pi|T|Ti|G|Gi|M|Mi|K|Ki)?$")
_MEMORY_UNITS = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}
_MEMORY_UNITS.update({f"{k}i": 1024 ** "KMGTPE".index(k) * 1024 for k in "KMGTPE"})
_LABEL = re.compile(r"^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")


def _cpus(text: str) -> float:
    return float(text[:-1]) / 1000 if text.endswith("m") else float(text)


def _bytes(text: str) -> float:
    number, unit = _MEMORY.match(text).groups()
    return int(number) * _MEMORY_UNITS[unit or ""]


@dataclasses.dataclass(frozen=True)
class Toleration:
    """A Kubernetes toleration: `key=value:Effect`, `key:Effect` (any value) or `key=value`."""

    key: str
    value: str = ""
    effect: str = ""

    def __post_init__(self):
        if not _LABEL.match(self.key):
            raise ValueError(f"toleration key {self.key!r} is not a Kubernetes label key")
        if self.effect and self.effect not in TOLERATION_EFFECTS:
            raise ValueError(
                f"toleration effect {self.effect!r} must be one of {', '.join(TOLERATION_EFFECTS)}"
            )

    @classmethod
    def parse(cls, text: str) -> Toleration:
        key_value, _, effect = text.partition(":")
        key, _, value = key_value.partition("=")
        return cls(key=key, value=value, effect=effect)

    @property
    def operator(self) -> str:
        return "Equal" if self.value else "Exists"


@dataclasses.dataclass(frozen=True)
class StepResources:
    """One task's CPU and memory (Kubernetes quantities: "4", "500m"; "16Gi", "512Mi"; "" for
    none), node selector labels and tolerations."""

    cpu_request: str = ""
    cpu_limit: str = ""
    memory_request: str = ""
    memory_limit: str = ""
    node_selector: tuple[tuple[str, str], ...] = ()
    tolerations: tuple[Toleration, ...] = ()

    def check(self, step: str) -> None:
        for name in ("cpu_request", "cpu_limit"):
            value = getattr(self, name)
            if value and not (_CPU.match(value) and _cpus(value) > 0):
                raise ValueError(f"{step} {name} {value!r} must be a CPU count like 4, 0.5 or 500m")
        for name in ("memory_request", "memory_limit"):
            value = getattr(self, name)
            if value and not (_MEMORY.match(value) and _bytes(value) > 0):
                raise ValueError(
                    f"{step} {name} {value!r} must be a size like 16Gi, 512Mi or 2G (no decimals)"
                )
        if self.cpu_request and self.cpu_limit and _cpus(self.cpu_request) > _cpus(self.cpu_limit):
            raise ValueError(
                f"{step} cpu_request {self.cpu_request} exceeds its cpu_limit {self.cpu_limit}"
            )
        if (
            self.memory_request
            and self.memory_limit
            and _bytes(self.memory_request) > _bytes(self.memory_limit)
        ):
            raise ValueError(
                f"{step} memory_request {self.memory_request} exceeds its memory_limit "
                f"{self.memory_limit}"
            )
        for key, value in self.node_selector:
            if not _LABEL.match(key) or (value and not _LABEL.match(value)):
                raise ValueError(f"{step} node selector {key}={value} is not a Kubernetes label")


@dataclasses.dataclass(frozen=True)
class TpuSlice:
    """A single-host GKE TPU slice: the accelerator label and its topology ("2x4")."""

    accelerator: str
    topology: str

    def __post_init__(self):
        if self.accelerator not in SINGLE_HOST_TOPOLOGIES:
            raise ValueError(
                f"TPU accelerator {self.accelerator!r} is not one of "
                f"{', '.join(SINGLE_HOST_TOPOLOGIES)}"
            )
        allowed = SINGLE_HOST_TOPOLOGIES[self.accelerator]
        dims = len(allowed[0].split("x"))
        if (
            not re.fullmatch(r"[1-9]\d*(x[1-9]\d*)*", self.topology)
            or self.topology.count("x") != dims - 1
        ):
            raise ValueError(
                f"TPU topology {self.topology!r} for {self.accelerator} must have {dims} "
                f"dimensions like {allowed[-1]}"
            )
        if self.topology not in allowed:
            raise ValueError(
                f"TPU topology {self.topology} of {self.accelerator} ({self.chips} chips) spans "
                f"more than one host; a pipeline task is one pod, so it takes a single-host "
                f"topology: {', '.join(allowed)}"
            )

    @property
    def chips(self) -> int:
        return math.prod(int(d) for d in self.topology.split("x"))


@dataclasses.dataclass(frozen=True)
class Hardware:
    """What the pipeline's tasks ask the cluster for, fixed when the pipeline is compiled.

    Args:
        steps: per task name (STEPS), its CPU/memory, node selectors and tolerations.
        trainer_gpus: NVIDIA GPUs for the trainer (an `nvidia.com/gpu` limit).
        trainer_gpu_type: a GKE GPU type such as "nvidia-l4" (the
            `cloud.google.com/gke-accelerator` node selector); needs trainer_gpus.
        trainer_tpu: a GKE TPU slice for the trainer (node selectors for its accelerator and
            topology, a `google.com/tpu` limit of its chips, TPU_NAME=local).
        volumes: (PVC name, mount path) pairs mounted into every task, e.g. for a durable
            checkpoint_dir.

    Example:
        Hardware(trainer_tpu=TpuSlice("tpu-v5-lite-podslice", "2x4"),
                 steps={"trainer": StepResources(cpu_request="8", memory_request="32Gi")})
    """

    steps: Mapping[str, StepResources] = dataclasses.field(default_factory=dict)
    trainer_gpus: int = 0
    trainer_gpu_type: str = ""
    trainer_tpu: TpuSlice | None = None
    volumes: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        unknown = sorted(set(self.steps) - set(STEPS))
        if unknown:
            raise ValueError(
                f"step {unknown[0]!r} is not one of the pipeline's: {', '.join(STEPS)}"
            )
        for step, resources in self.steps.items():
            resources.check(step)
        if self.trainer_gpus < 0:
            raise ValueError(f"trainer_gpus {self.trainer_gpus} must be >= 0")
        if self.trainer_gpu_type and not self.trainer_gpus:
            raise ValueError(f"trainer_gpu_type {self.trainer_gpu_type!r} needs trainer_gpus >= 1")
        if self.trainer_gpus and self.trainer_tpu:
            raise ValueError("the trainer gets GPUs or a TPU slice, not both")
        for claim, path in self.volumes:
            if not claim or not path.startswith("/"):
                raise ValueError(
                    f"volume {claim}={path} must name a PVC and an absolute mount path"
                )

    @property
    def is_default(self) -> bool:
        return self == Hardware()

    @property
    def needs_kubernetes(self) -> bool:
        """Whether applying these settings takes kfp-kubernetes (node selectors, tolerations,
        volumes): CPU, memory and the accelerator limit are plain KFP."""
        return bool(
            self.trainer_gpu_type
            or self.trainer_tpu
            or self.volumes
            or any(r.node_selector or r.tolerations for r in self.steps.values())
        )

    def check_parameters(self, parameters: Mapping) -> None:
        """Checks the pipeline parameters a run will use against the trainer's hardware.

        Raises:
            ValueError: a TPU slice with use_tpu false or a num_shards other than its chips;
                GPUs with use_tpu true.
        """
        use_tpu, num_shards = parameters.get("use_tpu"), parameters.get("num_shards", 0)
        if self.trainer_tpu:
            tpu = self.trainer_tpu
            if not use_tpu:
                raise ValueError(
                    f"the trainer gets a TPU slice ({tpu.accelerator} {tpu.topology}) but "
                    "use_tpu is false: set use_tpu (--use-tpu)"
                )
            if num_shards not in (0, tpu.chips):
                raise ValueError(
                    f"num_shards {num_shards} does not match TPU topology {tpu.topology} "
                    f"({tpu.chips} chips, one TPU core each): set num_shards to {tpu.chips} or 0 "
                    "(one shard per core), or pick the topology with that many chips"
                )
        elif self.trainer_gpus and use_tpu:
            raise ValueError(f"the trainer gets {self.trainer_gpus} GPU(s) but use_tpu is true")

    def apply(self, step: str, task):
        """Sets this step's requests, limits, accelerator, node selectors, tolerations and
        volumes on its pipeline task; returns the task."""
        resources = self.steps.get(step, StepResources())
        for name in ("cpu_request", "cpu_limit", "memory_request", "memory_limit"):
            if getattr(resources, name):
                getattr(task, f"set_{name}")(getattr(resources, name))
        selector = dict(resources.node_selector)
        if step == "trainer" and self.trainer_gpus:
            task.set_accelerator_type(GPU_RESOURCE).set_accelerator_limit(self.trainer_gpus)
            if self.trainer_gpu_type:
                selector[GPU_TYPE_SELECTOR] = self.trainer_gpu_type
        if step == "trainer" and self.trainer_tpu:
            task.set_accelerator_type(TPU_RESOURCE).set_accelerator_limit(self.trainer_tpu.chips)
            task.set_env_variable("TPU_NAME", "local")  # the TPU VM the pod runs on
            selector[TPU_ACCELERATOR_SELECTOR] = self.trainer_tpu.accelerator
            selector[TPU_TOPOLOGY_SELECTOR] = self.trainer_tpu.topology
        if selector or resources.tolerations or self.volumes:
            kubernetes = _kfp_kubernetes()
            for key, value in selector.items():
                kubernetes.add_node_selector(task, key, value)
            for toleration in resources.tolerations:
                kubernetes.add_toleration(
                    task,
                    key=toleration.key,
                    operator=toleration.operator,
                    value=toleration.value or None,
                    effect=toleration.effect or None,
                )
            for claim, path in self.volumes:
                kubernetes.mount_pvc(task, pvc_name=claim, mount_path=path)
        return task

    def describe(self) -> str:
        """One line naming what is set, for logs."""
        parts = [f"{step}: {_describe(r)}" for step, r in self.steps.items()]
        if self.trainer_gpus:
            kind = f" {self.trainer_gpu_type}" if self.trainer_gpu_type else ""
            parts.append(f"trainer: {self.trainer_gpus}{kind} GPU(s)")
        if self.trainer_tpu:
            parts.append(f"trainer: {self.trainer_tpu.accelerator} {self.trainer_tpu.topology}")
        parts += [f"volume {claim} at {path}" for claim, path in self.volumes]
        return "; ".join(parts)


def _describe(resources: StepResources) -> str:
    fields = [
        f"{f.name}={getattr(resources, f.name)}"
        for f in dataclasses.fields(resources)
        if getattr(resources, f.name) and f.name not in ("node_selector", "tolerations")
    ]
    fields += [f"node {k}={v}" for k, v in resources.node_selector]
    fields += [f"tolerates {t.key}" for t in resources.tolerations]
    return ", ".join(fields)


def _kfp_kubernetes():
    # Imported only when asked for: the TFX environment's kfp 2.5 has no kfp-kubernetes.
    try:
        from kfp import kubernetes
    except ImportError:
        raise ImportError(
            f"node selectors, tolerations, volumes and TPU/GPU types need {KUBERNETES_EXTRA}"
        ) from None
    return kubernetes

"""params['context']: the original TPUContext's API and tf.distribute.InputContext's, in one object."""

from __future__ import annotations

import tensorflow as tf


class TPUContext(tf.distribute.InputContext):
    """What an input_fn (or, on TPU, a model_fn) may ask about where it runs.

    Code written against the original `TPUContext` (`current_input_fn_deployment()`,
    `num_hosts`, `num_replicas`, `current_host`, ...) and code written against
    `tf.distribute.InputContext` (`input_pipeline_id`, `num_input_pipelines`,
    `get_per_replica_batch_size`) both work with it. The engine builds it; users do not.

    Example:
        def input_fn(params):
            ds = tf.data.TFRecordDataset(files)
            context = params.get("context")
            if context is not None:
                ds = ds.shard(context.num_input_pipelines, context.input_pipeline_id)
            return ds.batch(params["batch_size"], drop_remainder=True)
    """

    def __init__(
        self,
        *,
        mode: str,
        use_tpu: bool,
        num_replicas: int,
        num_hosts: int,
        host_id: int,
        global_batch_size: int | None,
        batch_size: int | None,
        invocation_index: int = 0,
        num_invocations: int | None = None,
        input_device: str = "/job:localhost/replica:0/task:0/device:CPU:0",
        call_from_input_fn: bool = True,
    ):
        super().__init__(
            num_input_pipelines=num_hosts,
            input_pipeline_id=host_id,
            num_replicas_in_sync=num_replicas,
        )
        self._mode = mode
        self._use_tpu = use_tpu
        self._num_hosts = num_hosts
        self._host_id = host_id
        self._global_batch_size = global_batch_size
        self._batch_size = batch_size
        self._invocation_index = invocation_index
        self._num_invocations = num_hosts if num_invocations is None else num_invocations
        self._input_device = input_device
        self._call_from_input_fn = call_from_input_fn

    def _input_fn_only(self, name: str) -> None:
        if not self._call_from_input_fn:
            raise RuntimeError(f"TPUContext.{name} is only available in input_fn, not model_fn")

    def current_input_fn_deployment(self) -> tuple[str, int, int, int]:
        """(host device, this invocation's 0-based index, invocations in all, replicas it feeds).

        Per-host input (the default) invokes input_fn once per host, feeding that host's
        replicas; per-shard input once per replica, feeding one each.
        """
        self._input_fn_only("current_input_fn_deployment()")
        consumed = max(1, self.num_replicas // max(1, self._num_invocations))
        return (self._input_device, self._invocation_index, self._num_invocations, consumed)

    @property
    def mode(self) -> str:
        """The ModeKeys value of this call."""
        return self._mode

    @property
    def num_replicas(self) -> int:
        """Replicas (TPU cores, strategy replicas or workers) training in sync."""
        return self.num_replicas_in_sync

    @property
    def num_hosts(self) -> int:
        """Hosts (input pipelines) taking part: workers under TF_CONFIG, else 1."""
        return self._num_hosts

    @property
    def current_host(self) -> int:
        """This host's index (input_fn only)."""
        self._input_fn_only("current_host")
        return self._host_id

    @property
    def num_of_replicas_per_host(self) -> int:
        return max(1, self.num_replicas // self._num_hosts)

    @property
    def num_of_cores_per_host(self) -> int:
        return self.num_of_replicas_per_host

    @property
    def num_cores(self) -> int:
        return self.num_replicas

    @property
    def device_assignment(self):
        """None: there is no model parallelism (the original returned None then too)."""
        if self._call_from_input_fn:
            raise RuntimeError("TPUContext.device_assignment is only available in model_fn")
        return None

    @property
    def batch_size(self) -> int | None:
        """The batch this call gets (params['batch_size'])."""
        return self._batch_size

    @property
    def global_batch_size(self) -> int | None:
        """The mode's batch size as given to TPUEstimator (over all replicas)."""
        return self._global_batch_size

    @property
    def batch_size_for_input_fn(self) -> int | None:
        return self._batch_size if self._call_from_input_fn else None

    def is_running_on_cpu(self, is_export_mode: bool = False) -> bool:
        """True when this mode runs off TPU (use_tpu=False, export, or host eval/predict)."""
        return not self._use_tpu or is_export_mode

    def device_for_replica(self, replica_id: int) -> tuple[str, int]:
        """(host device, device ordinal) of a replica."""
        if not 0 <= replica_id < self.num_replicas:
            raise ValueError(f"replica_id {replica_id} is not in [0, {self.num_replicas})")
        return self._input_device, replica_id % self.num_of_replicas_per_host

    def __repr__(self) -> str:
        return (
            f"TPUContext(mode={self._mode!r}, num_replicas={self.num_replicas}, "
            f"num_hosts={self._num_hosts}, host={self._host_id}, batch_size={self._batch_size})"
        )

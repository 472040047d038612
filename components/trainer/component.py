"""The trainer as a KFP lightweight component: unpack artifacts, call trainer.run."""

from kfp import dsl

from components.image import image


@dsl.component(base_image=image(), install_kfp_package=False)
def trainer(
    examples: dsl.Input[dsl.Dataset],
    model: dsl.Output[dsl.Model],
    train_steps: int,
    module_file: str = "",
    train_batch_size: int = 32,
    iterations_per_loop: int = 100,
    replicas: int = 1,
    strategy: str = "",
    params: dict = {},  # noqa: B006 (a KFP default, never mutated)
    seed: int = -1,
    warm_start_from: str = "",
    iterations_per_loop_budget: str = "",
    use_tpu: bool = False,
    tpu: str = "",
    num_shards: int = 0,
):
    """Prepared examples -> a model artifact (model.path is the model_dir with checkpoints).

    `module_file` "" trains the built-in model; `seed` -1 means unseeded; `strategy` "" is
    one device (or mirrored when replicas > 1); `warm_start_from` a model_dir or checkpoint (a path or URI) to start from, "" for none.
    `iterations_per_loop_budget`, a time per loop like "30s", replaces `iterations_per_loop`
    when set (an int parameter stays an int for pipelines that pass one). `use_tpu` trains on
    the TPU `tpu` ("" for $TPU_NAME) over `num_shards` cores (0: one shard per core).
    model.metadata records the result and where it came from: the examples, the module and
    its sha256 ("" for the built-in module), the tpuest version and the image.
    """
    # Lightweight components run as copied source: every import lives in the body.
    from components import trainer as trainer_lib
    from components.image import image, package_version

    result = trainer_lib.run(
        examples.path,
        model.path,
        train_steps=train_steps,
        module_file_path=module_file or None,
        train_batch_size=train_batch_size,
        iterations_per_loop=iterations_per_loop_budget or iterations_per_loop,
        replicas=replicas,
        strategy=strategy or None,
        use_tpu=use_tpu,
        tpu=tpu or None,
        num_shards=num_shards or None,
        warm_start_from=warm_start_from or None,
        params=params,
        seed=None if seed < 0 else seed,
    )
    model.metadata.update(
        {
            "global_step": result.global_step,
            "loss": result.loss,
            "steps_per_sec": result.steps_per_sec,
            "examples": examples.uri,
            "module_file": result.module_file,
            "module_sha256": result.module_sha256 or "",
            "params": result.params,
            "duration_secs": result.duration_secs,
            "tpuest_version": package_version(),
            "image": image(),
        }
    )

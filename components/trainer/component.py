"""The trainer as a KFP lightweight component: unpack artifacts, call trainer.run.

Its parameters are TrainerArgs fields (tests/components/test_step_args.py checks them); KFP
parameters cannot be None, so each field's `kfp_none` value ("", -1, 0) stands for None.
"""

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
    save_checkpoints_steps: int = 0,
    loop_timeout_secs: float = 0.0,
    checkpoint_dir: str = "",
):
    """Prepared examples -> a model artifact (model.path is the model_dir).

    `module_file` "" trains the built-in model; `seed` -1 means unseeded; `strategy` "" is
    one device (or mirrored when replicas > 1); `warm_start_from` a model_dir or checkpoint
    (a path or URI) to start from, "" for none. `iterations_per_loop_budget`, a time per loop
    like "30s", replaces `iterations_per_loop` when set (an int parameter stays an int for
    pipelines that pass one). `use_tpu` trains on the TPU `tpu` ("" for $TPU_NAME) over
    `num_shards` cores (0: one shard per core). `save_checkpoints_steps` 0 saves every 600 s
    and at the end; `loop_timeout_secs` 0 sets no limit on a host loop.

    `checkpoint_dir` (a gs:// URI or a path on a mounted volume, the same for every attempt of
    a run) keeps the checkpoints where a retried pod finds them: the retry resumes there,
    and model.metadata["checkpoint_dir"] tells the evaluator and exporter where to read them.
    "" keeps them in model.path, which is lost with a pod that dies before KFP uploads it.

    model.metadata records the result and where it came from: the examples, the module and
    its sha256 ("" for the built-in module), the tpuest version and the image.
    """
    parameters = dict(locals())  # first: the component's parameters, by name
    # Lightweight components run as copied source: every import lives in the body.
    from components import step_args
    from components import trainer as trainer_lib
    from components.image import image, package_version

    args = step_args.from_kfp(trainer_lib.TrainerArgs, parameters)
    if iterations_per_loop_budget:
        args = step_args.replace(args, iterations_per_loop=iterations_per_loop_budget)
    result = trainer_lib.run(examples.path, model.path, args)
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
            "checkpoint_dir": result.checkpoint_dir or "",
            "tpuest_version": package_version(),
            "image": image(),
        }
    )

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
    warm_start_from: dsl.Input[dsl.Model] = None,
):
    """Prepared examples -> a model artifact (model.path is the model_dir with checkpoints).

    `module_file` "" trains the built-in model; `seed` -1 means unseeded; `strategy` "" is
    one device (or mirrored when replicas > 1); `warm_start_from` a previous model.
    """
    # Lightweight components run as copied source: every import lives in the body.
    from components import trainer as trainer_lib

    result = trainer_lib.run(
        examples.path,
        model.path,
        train_steps=train_steps,
        module_file_path=module_file or None,
        train_batch_size=train_batch_size,
        iterations_per_loop=iterations_per_loop,
        replicas=replicas,
        strategy=strategy or None,
        warm_start_from=warm_start_from.path if warm_start_from is not None else None,
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
        }
    )

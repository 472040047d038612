"""The exporter as a KFP lightweight component: unpack artifacts, call exporter.run.

Its parameters are ExporterArgs fields (tests/components/test_step_args.py checks them) plus
`export_base`, an output location. Returns the single bool `pushed` (see the evaluator
component for why not a NamedTuple); the `pushed_model` artifact holds the SavedModel
versions (or, when `export_base` is set, points there) and push.json, with `pushed` and
`export_path` in its metadata.
"""

from kfp import dsl

from components.image import image


@dsl.component(base_image=image(), install_kfp_package=False)
def exporter(
    model: dsl.Input[dsl.Model],
    blessing: dsl.Input[dsl.Artifact],
    pushed_model: dsl.Output[dsl.Model],
    force: bool = False,
    export_base: str = "",
    module_file: str = "",
) -> bool:
    """Exports the model as a SavedModel when `blessing` holds BLESSED for its weights (or `force`).

    The checkpoints are read where the model's trainer.json says (its checkpoint_dir).
    """
    parameters = dict(locals())  # first: the component's parameters, by name
    # Lightweight components run as copied source: every import lives in the body.
    import os

    from components import exporter as exporter_lib
    from components import step_args

    args = step_args.from_kfp(exporter_lib.ExporterArgs, parameters)
    base = export_base or pushed_model.path
    result = exporter_lib.run(model.path, base, args, evaluation_dir=blessing.path)
    if export_base:
        # The artifact stays a directory of its own holding the decision.
        exporter_lib.write_record(pushed_model.path, result)
    os.makedirs(pushed_model.path, exist_ok=True)
    pushed_model.metadata.update(
        {
            "pushed": result.pushed,
            "reason": result.reason,
            "export_path": result.export_path or "",
            "global_step": result.global_step if result.global_step is not None else -1,
            "forced": result.forced,
        }
    )
    return result.pushed

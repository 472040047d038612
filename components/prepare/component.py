"""The prepare step as a KFP lightweight component: unpack artifacts, call prepare.run.

Its parameters are PrepareArgs fields (tests/components/test_step_args.py checks them), with
`beam_options` as one shell-quoted string, plus `input_pattern` (the inputs) and `cache_key`.
"""

from kfp import dsl

from components.image import image


@dsl.component(base_image=image(), install_kfp_package=False)
def prepare(
    input_pattern: str,
    examples: dsl.Output[dsl.Dataset],
    label: str = "",
    split_key: str = "",
    splits: str = "train=0.8,eval=0.2",
    max_bad_fraction: float = 0.05,
    schema: str = "",
    beam_options: str = "",
    direct_num_workers: int = 1,
    cache_key: str = "",
    input_format: str = "",
    direct_running_mode: str = "",
    max_line_bytes: int = 1048576,
):
    """Raw CSV / JSON Lines (comma-separated patterns) -> the examples artifact directory.

    `schema` is a schema.json path or URI ("" to infer one); `beam_options` Beam flags in one
    shell-quoted string. `cache_key` is not used by the step itself: pipelines set it to a
    fingerprint of the input files and of this code, so KFP's cache reuses a prepare output
    only for the same data and code.
    """
    parameters = dict(locals())  # first: the component's parameters, by name
    # Lightweight components run as copied source: every import lives in the body.
    import shlex

    from components import prepare as prepare_lib
    from components import step_args

    parameters["beam_options"] = shlex.split(beam_options)
    # KFP may pre-create the artifact directory; it is the step's alone.
    parameters["overwrite"] = True
    args = step_args.from_kfp(prepare_lib.PrepareArgs, parameters)
    result = prepare_lib.run(
        [p.strip() for p in input_pattern.split(",") if p.strip()], examples.path, args
    )
    print(result.summary())
    examples.metadata["counts"] = result.counts
    examples.metadata["dead_letter"] = result.dead_letter
    examples.metadata["dead_letter_reasons"] = result.dead_letter_reasons
    examples.metadata["input_rows"] = result.input_rows
    examples.metadata["splits"] = list(result.counts)
    examples.metadata["cache_key"] = cache_key

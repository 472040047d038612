"""The prepare step as a KFP lightweight component: unpack artifacts, call prepare.run."""

from kfp import dsl

from components.image import image


@dsl.component(base_image=image(), install_kfp_package=False)
def prepare(
    input_pattern: str,
    label: str,
    examples: dsl.Output[dsl.Dataset],
    split_key: str = "",
    splits: str = "train=0.8,eval=0.2",
    max_bad_fraction: float = 0.05,
    schema_path: str = "",
    beam_options: str = "",
    direct_num_workers: int = 1,
    cache_key: str = "",
):
    """Raw CSV / JSON Lines (comma-separated patterns) -> the examples artifact directory.

    `cache_key` is not used by the step itself: pipelines set it to a fingerprint of the input
    files and of this code, so KFP's cache reuses a prepare output only for the same data and code.
    """
    # Lightweight components run as copied source: every import lives in the body.
    import shlex

    from components import prepare as prepare_lib

    result = prepare_lib.run(
        [p.strip() for p in input_pattern.split(",") if p.strip()],
        examples.path,
        label=label or None,
        schema=schema_path or None,
        split_key=split_key or None,
        splits=splits,
        max_bad_fraction=max_bad_fraction,
        beam_options=shlex.split(beam_options),
        direct_num_workers=direct_num_workers,
        overwrite=True,  # KFP may pre-create the artifact directory; it is ours alone
    )
    print(result.summary())
    examples.metadata["counts"] = result.counts
    examples.metadata["dead_letter"] = result.dead_letter
    examples.metadata["dead_letter_reasons"] = result.dead_letter_reasons
    examples.metadata["input_rows"] = result.input_rows
    examples.metadata["splits"] = list(result.counts)
    examples.metadata["cache_key"] = cache_key

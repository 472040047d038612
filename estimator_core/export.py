"""Serving export: input receivers, export outputs (signatures) and the atomic SavedModel writer."""

from __future__ import annotations

import logging
import os
import time
import uuid
from collections.abc import Callable

import tensorflow as tf

from estimator_core.checkpoints import CheckpointError, is_graph_error
from estimator_core.context import EngineContext, new_graph
from estimator_core.export_outputs import (  # noqa: F401 - tf.estimator.export's names live here
    DEFAULT_SERVING_KEY,
    ClassificationOutput,
    ExportOutput,
    PredictOutput,
    RegressionOutput,
    named,
)
from estimator_core.mode_keys import ModeKeys
from estimator_core.session import session_config
from estimator_core.spec import scaffold_of, validate_spec

log = logging.getLogger("estimator_core")
v1 = tf.compat.v1


def _check_tensor(value, what: str) -> None:
    if not isinstance(value, (tf.Tensor, tf.SparseTensor)):
        raise ValueError(f"{what} must be a Tensor or SparseTensor, got {type(value).__name__}")


class ServingInputReceiver:
    """What serving feeds (`receiver_tensors`) and the features model_fn gets (`features`).

    As the original's: a single feature tensor is wrapped as `{"feature": tensor}`, so model_fn
    always gets a dict here; use TensorServingInputReceiver to hand model_fn the bare tensor.
    """

    def __init__(self, features, receiver_tensors, receiver_tensors_alternatives=None):
        if features is None or receiver_tensors is None:
            raise ValueError("ServingInputReceiver needs both features and receiver_tensors")
        self.features = named(features, "feature")
        self.receiver_tensors = named(receiver_tensors, "input")
        if receiver_tensors_alternatives is not None and not isinstance(
            receiver_tensors_alternatives, dict
        ):
            raise ValueError(
                "receiver_tensors_alternatives must be a dict of name -> tensor(s), got "
                f"{type(receiver_tensors_alternatives).__name__}"
            )
        self.receiver_tensors_alternatives = {
            name: named(tensors, "input")
            for name, tensors in (receiver_tensors_alternatives or {}).items()
        }


class TensorServingInputReceiver(ServingInputReceiver):
    """A receiver for a model_fn whose `features` is one Tensor or SparseTensor, not a dict.

    `features` reaches model_fn as is; `receiver_tensors` (and each alternative) is still named
    as a dict in the signatures (a bare tensor is called "input").
    """

    def __init__(self, features, receiver_tensors, receiver_tensors_alternatives=None):
        if features is None:
            raise ValueError("TensorServingInputReceiver needs features")
        _check_tensor(features, "TensorServingInputReceiver features")
        super().__init__(features, receiver_tensors, receiver_tensors_alternatives)
        self.features = features


def build_parsing_serving_input_receiver_fn(
    feature_spec: dict, default_batch_size=None
) -> Callable:
    """A receiver fn that takes serialized tf.Examples and parses them with `feature_spec`."""

    def serving_input_receiver_fn():
        serialized = v1.placeholder(tf.string, [default_batch_size], name="input_example_tensor")
        features = tf.io.parse_example(serialized, feature_spec)
        return ServingInputReceiver(features, {"examples": serialized})

    return serving_input_receiver_fn


def build_raw_serving_input_receiver_fn(features: dict, default_batch_size=None) -> Callable:
    """A receiver fn that feeds raw feature tensors shaped like `features` (tensors or TensorSpecs)."""

    def serving_input_receiver_fn():
        receivers = {}
        for name, example in features.items():
            shape = [default_batch_size] + list(tf.TensorShape(example.shape)[1:])
            receivers[name] = v1.placeholder(example.dtype, shape, name=name)
        return ServingInputReceiver(receivers, receivers)

    return serving_input_receiver_fn


def signature_defs(export_outputs: dict, receiver: ServingInputReceiver) -> dict:
    """One SignatureDef per export output (the spec has checked them and named serving_default)."""
    if DEFAULT_SERVING_KEY not in export_outputs:
        raise ValueError(
            f"export_outputs {sorted(export_outputs)} has no {DEFAULT_SERVING_KEY!r} entry: name "
            "the one to serve by default"
        )
    defs = {}
    for key, output in export_outputs.items():
        try:
            defs[key] = output.signature_def(receiver.receiver_tensors)
        except ValueError as e:
            if key == DEFAULT_SERVING_KEY:
                raise ValueError(f"serving_default signature: {e}") from e
            # As the original did: an output the receiver cannot feed is left out, loudly.
            log.warning("signature %r left out of the export: %s", key, e)
            continue
        for alt_name, alt_inputs in receiver.receiver_tensors_alternatives.items():
            try:
                defs[f"{key}:{alt_name}"] = output.signature_def(alt_inputs)
            except ValueError as e:
                log.info("signature %s:%s skipped: %s", key, alt_name, e)
    return defs


def _check_assets_extra(assets_extra: dict | None) -> dict:
    checked = {}
    for dest, source in (assets_extra or {}).items():
        norm = os.path.normpath(dest)
        if os.path.isabs(dest) or norm == ".." or norm.startswith(".." + os.sep):
            raise ValueError(
                f"assets_extra destination {dest!r} must be a relative path inside assets.extra"
            )
        if not tf.io.gfile.exists(source):
            raise ValueError(f"assets_extra source {source!r} (for {dest!r}) does not exist")
        checked[norm] = source
    return checked


def _new_version_dir(export_dir_base: str) -> str:
    version = int(time.time())
    while tf.io.gfile.exists(os.path.join(export_dir_base, str(version))):
        version += 1
    return os.path.join(export_dir_base, str(version))


def export_saved_model(
    ctx: EngineContext,
    export_dir_base: str,
    serving_input_receiver_fn,
    *,
    assets_extra,
    as_text: bool,
    checkpoint: str,
) -> str:
    """Builds the PREDICT graph on the receiver's features, restores `checkpoint`, writes atomically.

    The SavedModel is written to a temporary sibling directory and renamed into its timestamped
    place, so neither serving nor a later run ever sees a half-written version.
    """
    assets = _check_assets_extra(assets_extra)
    graph = new_graph(ctx.config.tf_random_seed)
    with graph.as_default():
        v1.train.get_or_create_global_step()
        receiver = serving_input_receiver_fn()
        if not isinstance(receiver, ServingInputReceiver):
            raise ValueError(
                f"serving_input_receiver_fn must return a ServingInputReceiver, got {type(receiver).__name__}"
            )
        spec = ctx.call_model_fn(receiver.features, None, ModeKeys.PREDICT, exporting=True)
        spec = validate_spec(spec, ModeKeys.PREDICT, exporting=True)
        defs = signature_defs(spec.export_outputs, receiver)
        # No Scaffold here: its finalize() would freeze the graph the SavedModel builder extends.
        saver = scaffold_of(spec).saver
        main_op = tf.group(v1.local_variables_initializer(), v1.tables_initializer())
        session = v1.Session(graph=graph, config=session_config(ctx.config))
        try:
            saver.restore(session, checkpoint)
        except (tf.errors.OpError, ValueError) as e:
            session.close()
            if is_graph_error(e):
                raise
            raise CheckpointError(checkpoint, e) from e
        tf.io.gfile.makedirs(export_dir_base)
        final_dir = _new_version_dir(export_dir_base)
        temp_dir = os.path.join(
            export_dir_base, f".temp-{os.path.basename(final_dir)}-{uuid.uuid4().hex[:8]}"
        )
        try:
            builder = v1.saved_model.Builder(temp_dir)
            builder.add_meta_graph_and_variables(
                session,
                [v1.saved_model.tag_constants.SERVING],
                signature_def_map=defs,
                main_op=main_op,
                strip_default_attrs=True,
                saver=saver,
            )
            builder.save(as_text=as_text)
            for dest, source in assets.items():
                target = os.path.join(temp_dir, "assets.extra", dest)
                tf.io.gfile.makedirs(os.path.dirname(target))
                tf.io.gfile.copy(source, target, overwrite=True)
            tf.io.gfile.rename(temp_dir, final_dir)
        except BaseException:
            if tf.io.gfile.exists(temp_dir):
                tf.io.gfile.rmtree(temp_dir)
            raise
        finally:
            session.close()
    log.info("SavedModel exported to %s (signatures: %s)", final_dir, ", ".join(sorted(defs)))
    return final_dir

"""Trainer: train a module's model_fn on prepared examples into model_dir (resuming what is there).

Example:
    from components import trainer
    result = trainer.run("out/examples", "out/model", train_steps=1000)
    result.global_step, result.loss

Names are imported on first use, so the `tpuest train` CLI starts without TensorFlow.
"""

from components.lazy import exports

_EXPORTS = {
    "STRATEGIES": "components.trainer.args",
    "TrainerArgs": "components.trainer.args",
    "TrainerResult": "components.trainer.train",
    "run": "components.trainer.train",
}
__all__ = sorted(_EXPORTS)

__getattr__ = exports(__name__, _EXPORTS)

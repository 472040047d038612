"""What the trainer writes into model_dir besides checkpoints: the data files it trained with."""

from __future__ import annotations

import logging

import tensorflow as tf

from components import files
from components.trained_model import DATA_FILES

log = logging.getLogger("tpuest.trainer")


def copy_data_files(examples_dir: str, model_dir: str) -> None:
    """Copies schema.json and stats.json into model_dir; on resume keeps the ones trained with."""
    tf.io.gfile.makedirs(model_dir)
    for name in DATA_FILES:
        source, target = f"{examples_dir}/{name}", f"{model_dir}/{name}"
        if not tf.io.gfile.exists(source):
            raise FileNotFoundError(f"{source} not found: is {examples_dir} a prepare output?")
        with tf.io.gfile.GFile(source) as f:
            text = f.read()
        if tf.io.gfile.exists(target):
            with tf.io.gfile.GFile(target) as f:
                if f.read() != text:
                    log.warning(
                        "%s differs from %s; keeping the one this model was trained with",
                        target,
                        source,
                    )
            continue
        files.write_atomic(target, text)

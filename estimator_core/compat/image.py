"""`tf.contrib.image`'s transform, rotate and translate (EfficientNet's autoaugment) on TF 2.21.

Same contract as contrib's: images of rank 2 (HW), 3 (HWC) or 4 (NHWC); projective transforms of
8 numbers `[a0, a1, a2, b0, b1, b2, c0, c1]` mapping each output point to the input point it
reads; points outside the image read zeros; angles in radians, counterclockwise.
"""

from __future__ import annotations

import tensorflow as tf


def _as_batch(images):
    images = tf.convert_to_tensor(images)
    rank = images.shape.rank
    if rank not in (2, 3, 4):
        raise ValueError(f"images must have rank 2, 3 or 4, got shape {images.shape}")
    batched = images[None, :, :, None] if rank == 2 else images[None] if rank == 3 else images
    return batched, rank


def _unbatch(images, rank: int):
    return images[0, :, :, 0] if rank == 2 else images[0] if rank == 3 else images


def transform(images, transforms, interpolation="NEAREST", output_shape=None, name=None):
    """Applies projective `transforms` ([8] or [N, 8]) to `images` (zeros outside)."""
    with tf.name_scope(name or "transform"):
        batched, rank = _as_batch(images)
        transforms = tf.convert_to_tensor(transforms, tf.float32)
        if transforms.shape.rank == 1:
            transforms = transforms[None]
        if output_shape is None:
            output_shape = tf.shape(batched)[1:3]
        out = tf.raw_ops.ImageProjectiveTransformV3(
            images=batched,
            transforms=transforms,
            output_shape=tf.cast(output_shape, tf.int32),
            fill_value=tf.constant(0.0, tf.float32),
            interpolation=interpolation.upper(),
            fill_mode="CONSTANT",
        )
        return _unbatch(out, rank)


def _angles_to_transforms(angles, height, width):
    cos, sin = tf.cos(angles), tf.sin(angles)
    x_offset = ((width - 1) - (cos * (width - 1) - sin * (height - 1))) / 2.0
    y_offset = ((height - 1) - (sin * (width - 1) + cos * (height - 1))) / 2.0
    zeros = tf.zeros_like(angles)
    return tf.stack([cos, -sin, x_offset, sin, cos, y_offset, zeros, zeros], axis=1)


def rotate(images, angles, interpolation="NEAREST", name=None):
    """Rotates `images` by `angles` (radians, counterclockwise; a scalar or one per image)."""
    with tf.name_scope(name or "rotate"):
        batched, rank = _as_batch(images)
        height = tf.cast(tf.shape(batched)[1], tf.float32)
        width = tf.cast(tf.shape(batched)[2], tf.float32)
        angles = tf.convert_to_tensor(angles, tf.float32)
        if angles.shape.rank == 0:
            angles = angles[None]
        out = transform(batched, _angles_to_transforms(angles, height, width), interpolation)
        return _unbatch(out, rank)


def translate(images, translations, interpolation="NEAREST", name=None):
    """Shifts `images` by `translations` ([dx, dy] or one per image; positive moves right/down)."""
    with tf.name_scope(name or "translate"):
        shifts = tf.convert_to_tensor(translations, tf.float32)
        if shifts.shape.rank == 1:
            shifts = shifts[None]
        ones, zeros = tf.ones_like(shifts[:, 0]), tf.zeros_like(shifts[:, 0])
        transforms = tf.stack(
            [ones, zeros, -shifts[:, 0], zeros, ones, -shifts[:, 1], zeros, zeros], axis=1
        )
        return transform(images, transforms, interpolation)

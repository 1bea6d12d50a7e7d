"""The NumPy-arrays source: `(images, labels)` held in memory.

Images are `[N, H, W]` or `[N, H, W, C]` with C in {1, 3, 4}: uint8 holding 0..255, or
floating point holding `value_range` (0, 1) or (-1, 1). Labels are integers of shape `[N]`,
or None (unconditional data: every label is 0 and there are no classes).
"""

import numpy as np
import tensorflow as tf

from sagan_tf.data import checks, pipeline


def check_arrays(images, labels, value_range, num_classes, image_channels=3):
    """Validates images and labels. Returns `(images [N, H, W, C], int32 labels,
    value_range, num_classes)`, float images as float32, `num_classes` defaulting to the
    largest label + 1. Without labels (None): labels of 0 and num_classes None. C must be
    1, 3 or 4 (RGBA), or `image_channels` (multispectral bands kept as they are), and
    `image_channels` 1, 3 or C (`pipeline.to_channels`); else `checks.ChannelsError`."""
    if images.ndim not in (3, 4):
        raise ValueError("Images must have shape [N, H, W] or [N, H, W, C]. Received an "
                         f"array of rank {images.ndim} with shape {images.shape}.")
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    if c not in (1, 3, 4, image_channels):
        raise checks.ChannelsError(
            "Images must have 1 (gray), 3 (RGB) or 4 (RGBA) channels, or "
            f"image_channels={image_channels}. Received shape {images.shape}; "
            f"pass image_channels={c} for {c}-band images.", found=c)
    if image_channels not in (1, 3, c):
        raise checks.ChannelsError(
            f"`image_channels={image_channels}` needs images of {image_channels} channels. "
            f"Received images of {c} channels; pass image_channels={c} (or 1 or 3 to "
            "convert them to grey or RGB).", found=c)
    if n == 0 or h == 0 or w == 0:
        raise ValueError(f"Images must not be empty. Received shape {images.shape}.")
    images, value_range = _check_values(images, value_range)
    if labels is None:
        if num_classes is not None:
            raise ValueError("`num_classes` needs labels: images without labels have no "
                             f"classes. Received: num_classes={num_classes}")
        return images, np.zeros(n, np.int32), value_range, None
    labels, num_classes = _check_labels(labels, n, num_classes)
    return images, labels, value_range, num_classes


def array_source(images, labels, value_range, image_channels=3):
    """Index-based source over in-memory arrays (the shuffle buffer holds indices only);
    images as RGB (`image_channels=3`), else with their own channels (the pipeline
    converts them, `pipeline.to_channels`)."""
    if images.ndim == 3:
        images = images[..., None]
    images_t = tf.constant(images)
    labels_t = tf.constant(labels.astype(np.int32))

    def to_example(i):
        image = tf.gather(images_t, i)
        image = pipeline.to_rgb(image) if image_channels == 3 else image
        return pipeline.to_unit_range(image, value_range), tf.gather(labels_t, i)

    return pipeline.index_source(int(images.shape[0]), to_example)


def _check_values(images, value_range):
    """Checks the dtype and the values against `value_range`; returns both (float32)."""
    if images.dtype == np.uint8:
        if value_range not in (None, (0, 255)):
            raise ValueError("uint8 images always hold 0..255; `value_range` must be None "
                             f"or (0, 255). Received: value_range={value_range!r}")
        return images, (0, 255)
    if not np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"Unsupported image dtype {images.dtype}. Use uint8 (values 0..255) or a "
            "floating-point dtype with value_range=(0, 1) or (-1, 1); e.g. convert integer "
            "images holding 0..255 with images.astype(np.uint8).")
    if value_range is None:
        raise ValueError(
            f"Floating-point images ({images.dtype}) need `value_range` to say what "
            "they hold: value_range=(0, 1) or value_range=(-1, 1).")
    value_range = tuple(value_range)
    if value_range not in ((0, 1), (-1, 1)):
        raise ValueError("`value_range` for floating-point images must be (0, 1) or "
                         f"(-1, 1). Received: value_range={value_range!r}")
    lo, hi = float(np.min(images)), float(np.max(images))
    if not (np.isfinite(lo) and np.isfinite(hi)):
        raise ValueError("Images contain NaN or infinite values.")
    if lo < value_range[0] or hi > value_range[1]:
        raise ValueError(
            f"Images with value_range={value_range} must lie in [{value_range[0]}, "
            f"{value_range[1]}]. Received values in [{lo}, {hi}].")
    if images.dtype != np.float32:
        images = images.astype(np.float32)
    return images, value_range


def _check_labels(labels, n, num_classes):
    """Checks `n` integer labels in `[0, num_classes)`; returns them (int32), num_classes."""
    if labels.ndim != 1 or labels.shape[0] != n:
        raise ValueError(f"Labels must have shape [N] = [{n}] to match the images. "
                         f"Received shape {labels.shape}.")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"Labels must be integers. Received dtype {labels.dtype}.")
    lo, hi = int(labels.min()), int(labels.max())
    if num_classes is None:
        if lo < 0:
            bad = int(labels[np.argmax(labels < 0)])
            raise ValueError(f"Labels must be non-negative. Received a label {bad} "
                             f"(at index {int(np.argmax(labels < 0))}).")
        num_classes = hi + 1
    else:
        out = (labels < 0) | (labels >= num_classes)
        if out.any():
            i = int(np.argmax(out))
            raise ValueError(f"Label {int(labels[i])} (at index {i}) is out of range "
                             f"[0, {num_classes}) for num_classes={num_classes}.")
    return labels.astype(np.int32), num_classes

"""Runs a classifier over image batches, keeping only logits and activations.

Images are consumed one batch at a time from any iterable (a generator, a list, a
`tf.data.Dataset`) or generated batch by batch from labels; only the classifier's
outputs (for Inception: 1008 logits and 2048 activations per image) are kept, so
tens of thousands of images never sit in memory at once.
"""

import sys

import numpy as np
from keras.utils import Progbar

from sagan_tf import compat

# Seconds between progress lines when stdout is not a terminal (logs, pipes).
_LOG_PROGRESS_INTERVAL = 10.0


def compute_activations(classifier, batches, num_samples=None, progress=True):
    """Runs `classifier` over batches of images, accumulating its outputs.

    Args:
        classifier: a `sagan_tf.metrics.Classifier` (or any callable mapping an
            image batch to `(logits, activations)`).
        batches: iterable of batches, each either images `[B, H, W, C]` (float in
            [-1, 1], see `Classifier.logits_and_activations`), a tuple
            `(images, labels, ...)`, or a dict with keys `"image"` and `"label"`.
            Labels are integer class ids `[B]` (one-hot `[B, num_classes]` is
            converted with argmax). Batches are pulled one at a time.
        num_samples: stop after this many images (the last batch is truncated and
            no further batch is pulled); `None` consumes all batches. If the
            batches run out first, fewer samples are returned.
        progress: show a `keras.utils.Progbar` counting images. When stdout is not
            a terminal it prints a plain line every few seconds instead of
            redrawing in place.

    Returns:
        Tuple `(logits, activations, labels)`: float32 arrays
        `[N, num_classes]` and `[N, num_features]`, and an int32 array `[N]` of
        labels, or `None` if the batches carry no labels.

    Raises:
        ValueError: if `num_samples` is not positive, the batches yield no images,
            or only some batches carry labels.
    """
    logits_parts, activation_parts, label_parts = [], [], []
    has_labels = False
    for logits, activations, labels in iter_activations(classifier, batches, num_samples,
                                                        progress):
        logits_parts.append(logits)
        activation_parts.append(activations)
        if labels is not None:
            has_labels = True
            label_parts.append(labels)
    logits = np.concatenate(logits_parts)
    activations = np.concatenate(activation_parts)
    labels = np.concatenate(label_parts) if has_labels else None
    return logits, activations, labels


def iter_activations(classifier, batches, num_samples=None, progress=True):
    """`compute_activations` one batch at a time: yields `(logits, activations, labels)`
    float32/float32/int32-or-None arrays per batch, so that a caller can reduce them
    (reference statistics of a million images) without holding them all."""
    if num_samples is not None:
        num_samples = int(num_samples)
        if num_samples < 1:
            raise ValueError("`num_samples` must be positive. "
                             f"Received: num_samples={num_samples}")
    run = getattr(classifier, "logits_and_activations", classifier)
    progbar = _progbar(num_samples) if progress else None
    seen = 0
    has_labels = None
    for batch in batches:
        images, labels = _split_batch(batch)
        if has_labels is None:
            has_labels = labels is not None
        elif has_labels != (labels is not None):
            raise ValueError("Either all batches or none must carry labels; batch "
                             f"after sample {seen} differs.")
        count = int(images.shape[0])
        if num_samples is not None and seen + count > num_samples:
            count = num_samples - seen
            images = images[:count]
            labels = None if labels is None else labels[:count]
        if count == 0:
            continue
        logits, activations = run(images)
        if labels is not None:
            labels = _as_label_array(labels)
            if labels.shape[0] != count:
                raise ValueError(f"A batch has {count} images but {labels.shape[0]} "
                                 "labels.")
        yield np.asarray(logits, np.float32), np.asarray(activations, np.float32), labels
        seen += count
        if progbar is not None:
            progbar.update(seen)
        if num_samples is not None and seen >= num_samples:
            break  # Pull no further batch.
    if seen == 0:
        raise ValueError("`batches` produced no images.")
    if progbar is not None and (progbar.target is None or seen < progbar.target):
        progbar.target = seen
        progbar.update(seen, finalize=True)


def generate_activations(generate_fn, labels, classifier, batch_size, progress=True):
    """Generates images for `labels` batch by batch and runs `classifier` on them.

    Args:
        generate_fn: callable `generate_fn(labels)` taking an int32 array `[B]` and
            returning float32 images `[B, H, W, 3]` in [-1, 1].
        labels: int array `[N]`, the class of each image to generate, in order.
        classifier: as for `compute_activations`.
        batch_size: images per `generate_fn` call (the last batch may be smaller).
        progress: show a progress bar.

    Returns:
        Tuple `(logits, activations, labels)` as `compute_activations`, with
        `labels` equal to the input labels.
    """
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError("`labels` must be a 1D array of integer class ids. "
                         f"Received: shape={labels.shape}, dtype={labels.dtype}")
    if labels.size == 0:
        raise ValueError("`labels` must not be empty.")
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError("`batch_size` must be positive. "
                         f"Received: batch_size={batch_size}")
    labels = labels.astype(np.int32)

    def batches():
        for start in range(0, len(labels), batch_size):
            batch_labels = labels[start:start + batch_size]
            images = generate_fn(batch_labels)
            if int(images.shape[0]) != len(batch_labels):
                raise ValueError(
                    f"`generate_fn` returned {images.shape[0]} images for "
                    f"{len(batch_labels)} labels. Received: shape={images.shape}")
            yield images, batch_labels

    return compute_activations(classifier, batches(), num_samples=len(labels),
                               progress=progress)


def _split_batch(batch):
    if isinstance(batch, dict):
        if "image" not in batch:
            raise ValueError("A dict batch must have an 'image' key. "
                             f"Received keys: {sorted(batch)}")
        return batch["image"], batch.get("label")
    if isinstance(batch, (tuple, list)):
        if not 1 <= len(batch) <= 3:
            raise ValueError("A tuple batch must be (images,), (images, labels) or "
                             f"(images, labels, weights). Received: {len(batch)} items")
        return batch[0], (batch[1] if len(batch) > 1 else None)
    return batch, None


def _as_label_array(labels):
    labels = np.asarray(labels)
    if labels.ndim == 2:
        labels = np.argmax(labels, axis=-1)
    if labels.ndim != 1:
        raise ValueError("Labels must be class ids [B] or one-hot [B, num_classes]. "
                         f"Received: shape={labels.shape}")
    return labels.astype(np.int32)


def _progbar(target):
    interactive = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
    progbar = Progbar(target, unit_name="image",
                      interval=0.05 if interactive else _LOG_PROGRESS_INTERVAL)
    if not interactive:
        # Keras redraws in place on every POSIX system, even into a log file;
        # write whole lines there instead.
        compat.progbar_whole_lines(progbar)
    return progbar

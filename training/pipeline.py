"""The training input: `sagan_tf.data.load_dataset`, ordered for the replicas, resumable.

One `fit` step consumes one batch of `batch_size * d_steps` examples: `d_steps` D
updates on `batch_size` examples each. The stream is seeded (`config.seed`), so a
resumed run starts at the batch after those its checkpoint's steps consumed and
continues with exactly the batches an uninterrupted run would have seen next; for
arrays, folders and digits that batch is computed from the step, not reached by
replaying the run's data (see `sagan_tf.data.pipeline`).
"""

import re

import numpy as np
import tensorflow as tf
from absl import logging

from sagan_tf.data import load_dataset, resume_dataset
from sagan_tf.data.checks import ChannelsError
from sagan_tf.data.pipeline import CROPS


def load(config):
    """Returns `(dataset, config)`: the global batches and the config with the data's
    `num_classes` and `class_names` filled in.

    Raises:
        ValueError: when the config already names classes (a resumed run) and the data
            has others.
    """
    # TFDS' seeded shuffle buffer draws from (global seed, seed): fix the global one too,
    # so the stream depends on config.seed alone, not on what ran before in the process.
    tf.random.set_seed(config.seed)
    try:
        dataset, info = load_dataset(
            config.dataset, resolution=config.resolution,
            global_batch_size=config.examples_per_step, data_dir=config.data_dir,
            seed=config.seed, random_flip=config.random_flip,
            train_fraction=config.train_fraction, unconditional=config.unconditional,
            image_channels=config.image_channels, crop=config.crop)
    except ChannelsError as e:  # said in the program's flags, not image_channels=
        c, n = e.found, config.image_channels
        convert = " (or 1 or 3: the images made grey or RGB)" if c in (1, 3, 4) else ""
        raise ValueError(
            "`--g_image_channels` and `--d_image_channels` must be the channel count of "
            f"the images in {config.dataset!r}: pass --g_image_channels={c} "
            f"--d_image_channels={c}{convert}. Received: --g_image_channels={n} "
            f"--d_image_channels={n} for images of {c} channels.") from None
    except ValueError as e:
        held = re.search(r"number of examples \((\d+)\)", str(e))
        if held is None:
            raise
        # Said in the program's flags, not the library's global_batch_size/drop_remainder.
        raise ValueError(
            f"One training step takes --batch_size x --d_steps x --grad_accum = "
            f"{config.batch_size} x {config.d_steps} x {config.grad_accum} = "
            f"{config.examples_per_step} examples, more than the data {config.dataset!r} "
            f"holds ({held.group(1)} examples). Lower --grad_accum, --d_steps or "
            "--batch_size.") from None
    if info.unconditional and config.num_classes is not None:
        raise ValueError(
            f"The data ({config.dataset!r}) has no classes, but the run in "
            f"{config.model_dir!r} is class-conditional ({config.num_classes} classes): it "
            "cannot continue on data without labels. Use the run's data or another "
            "--model_dir.")
    classes = (info.num_classes, tuple(info.class_names))
    if config.num_classes is not None and classes != (config.num_classes,
                                                       tuple(config.class_names)):
        raise ValueError(
            f"The data ({config.dataset!r}) has {info.num_classes} classes "
            f"{list(info.class_names)[:10]}, but the run in {config.model_dir!r} was trained "
            f"on {config.num_classes} classes {list(config.class_names)[:10]}: the model "
            "cannot continue on other classes. Use the run's data or another --model_dir.")
    logging.info("Data %r: %d examples in %s, %dx%d pixels (images of other sizes or "
                 "shapes, --crop=%s: %s).", config.dataset,
                 info.num_examples, "no classes (unconditional)" if info.unconditional
                 else f"{info.num_classes} classes", config.resolution, config.resolution,
                 config.crop, CROPS[config.crop].format(resolution=config.resolution))
    return dataset, config.replace(num_classes=info.num_classes,
                                   class_names=tuple(info.class_names),
                                   unconditional=info.unconditional)


def order_for_replicas(dataset, d_steps, replicas):
    """Reorders each batch so that N replicas take the D-step slices one device would.

    `fit` gives replica r the r-th contiguous slice of a global batch, and each
    replica splits its slice into `d_steps` chunks, one per D step. One device splits
    the whole batch into chunks of `batch_size` instead. Seen as [d_steps, replicas, b]
    (b = batch_size / replicas), the batch is transposed to [replicas, d_steps, b], so
    that D step k on replica r gets the r-th part of the k-th chunk; with the noise
    sliced the same way (see `SAGAN.noise`), N replicas compute one device's step.
    A no-op for one replica or one D step.
    """
    if replicas == 1 or d_steps == 1:
        return dataset
    spec = dataset.element_spec[0]
    global_batch = spec.shape[0]
    if global_batch is None or global_batch % (d_steps * replicas):
        raise ValueError(f"The batch of {global_batch} examples does not split into "
                         f"{d_steps} D steps x {replicas} replicas.")
    order = np.arange(global_batch).reshape(d_steps, replicas, -1).transpose(1, 0, 2)
    order = tf.constant(order.ravel(), tf.int32)
    return dataset.map(lambda images, labels: (tf.gather(images, order),
                                               tf.gather(labels, order)),
                       num_parallel_calls=tf.data.AUTOTUNE)


def resume(dataset, start_step):
    """The batches of `dataset` (from `load`) from the one after `start_step` steps on.

    For arrays, folders and digits the batch is computed from the step: resuming at step
    10**6 costs what resuming at step 1 does. TFDS reads (without decoding) and discards
    the consumed examples. Apply it before `order_for_replicas`.
    """
    if start_step:
        logging.info("Starting the data at batch %d, after the checkpoint's steps.",
                     start_step)
    return resume_dataset(dataset, start_step)

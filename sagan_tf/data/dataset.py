"""`load_dataset`: images from any source as a batched `tf.data.Dataset`.

It checks the arguments (`checks`), reads the source that claims `source` (the table
`sagan_tf.data.sources.SOURCES`) and builds the pipeline (`pipeline`).
"""

import dataclasses
import types

import tensorflow as tf

from sagan_tf.data import checks
from sagan_tf.data import pipeline
from sagan_tf.data import sources
from sagan_tf.data.dataset_info import DatasetInfo


def load_dataset(source, *, resolution, global_batch_size, split="train", data_dir=None,
                 download=False, labels=None, shuffle=True, shuffle_buffer=10_000, seed=None,
                 random_flip=False, drop_remainder=True, repeat=True, on_corrupt="skip",
                 num_classes=None, value_range=None, image_key=None, label_key=None,
                 unconditional=False,
                 validate_images=True, train_fraction=1.0, image_channels=3,
                 crop="center"):
    """Builds a batched, shuffled, prefetched dataset of `(images, labels)`.

    The pipeline is: shuffle -> repeat -> read/decode, resize, scale to [-1, 1] (parallel) ->
    optional random horizontal flip -> batch -> prefetch. See the `sagan_tf.data` package
    docstring for the sources and how images are resized.

    Args:
        source: a value one row of `sagan_tf.data.sources.SOURCES` claims: `"digits"`,
            a folder (to read a folder named "digits", pass "./digits"), a TFDS name, a
            tuple `(images, labels)` of NumPy arrays or an images array with `labels=`.
        resolution: Positive int, the height and width of the output images.
        global_batch_size: Positive int, examples per batch over all replicas (a distribution
            strategy splits each batch between its replicas).
        split: For `"digits"`: `"train"`, `"test"` or `"all"`. For TFDS: any split string the
            dataset accepts (e.g. `"train"`, `"train[:90%]"`, `"train+test"`). Folders and
            arrays have no splits: `"train"` and `"all"` both mean all of their examples.
        data_dir: TFDS data directory (TFDS' default, `~/tensorflow_datasets`, if None).
        download: TFDS only. If True, download and prepare the dataset when it is not
            prepared yet (needs network). If False (default), raise an error instead.
        labels: Labels array when `source` is an images array.
        shuffle: Whether to shuffle. In-memory sources and folders permute all examples
            every epoch (a seeded permutation computed per position, so that
            `resume_dataset` starts anywhere at no cost); TFDS reads its files in an
            order fixed by the seed and passes the examples (still encoded) through a
            buffer of `shuffle_buffer` examples, seeded per epoch.
        shuffle_buffer: Positive int, the TFDS shuffle buffer size (see `shuffle`).
        seed: Optional int. The same seed gives the same order and the same flips.
        random_flip: Whether to flip each image left-right with probability 1/2.
        drop_remainder: Whether to drop a last batch smaller than `global_batch_size`
            (distribution strategies want static batch shapes). If True, `global_batch_size`
            must not exceed the number of examples.
        repeat: Whether to repeat the data forever (each epoch reshuffled).
        on_corrupt: Folders only: what to do with a file that cannot be read or decoded.
            `"skip"` (default) leaves it out, logs a warning with the count and some paths,
            and counts it in `info.num_skipped`; `"raise"` raises a `ValueError` naming it.
        num_classes: Optional int. For arrays, the number of classes (default: the largest
            label + 1); every label must lie in `[0, num_classes)`. For the other sources,
            which define their classes, it must match them if given.
        unconditional: Read the source without its classes: every label is 0 and
            `info.num_classes` is None (for an unconditional model). A folder then
            yields every image under it, in class sub-folders or not. Sources without
            classes are read so anyway: a folder with images directly inside and no
            sub-folders, an images array without labels, a TFDS dataset without a
            `ClassLabel` feature.
        value_range: Arrays only: `(0, 1)` or `(-1, 1)`, what floating-point images hold.
            Required for float images; must be None or `(0, 255)` for uint8 images.
        image_key: TFDS only: name of the image feature, if the dataset has several.
        label_key: TFDS only: name of the `ClassLabel` feature, if the dataset has several.
        validate_images: Folders only. If True (default), every file is decoded once, before
            training, with the same decoder as the pipeline (in parallel), so that corrupt
            files are found and counted exactly; it costs about one epoch of decoding (about
            2.5 minutes for 300,000 375x300 JPEGs on 2 CPU cores). If False, that pass is
            skipped and a corrupt file stops the pipeline with TensorFlow's decoding error
            when it is reached.
        image_channels: channels of the images the dataset yields: 3 (RGB, the
            default: grey repeated, alpha dropped), 1 (grey: the BT.601 luma of colour
            images), or another count for arrays of that many bands (kept as they are).
        crop: how an image that is not square becomes one (`pipeline.CROPS`):
            `"center"` (default) resizes its shorter side to `resolution` and cuts a
            centred square; `"none"` resizes its longer side to `resolution` (the
            aspect ratio kept) and pads the rest of the square with copies of the edge
            pixels. Square images come out the same either way.
        train_fraction: Digits only, `split="train"`: keep this fraction of each class
            of the training split (a fixed subset, `digits.digits_train_subset`); 1 (the
            default) keeps all. Other sources refuse any other value.

    Returns:
        A pair `(dataset, info)`: a `tf.data.Dataset` of `(images, labels)` batches (float32
        `[batch, resolution, resolution, image_channels]` in [-1, 1], int32 `[batch]`), and a
        `DatasetInfo`.

    Raises:
        ValueError: For invalid arguments, a missing or empty folder, a corrupt file with
            `on_corrupt="raise"`, labels out of range, an unknown split or dataset, a TFDS
            dataset that is not prepared or has no image or label feature.
        TypeError: For a `source` of an unsupported type.
    """
    resolution = checks.positive_int(resolution, "resolution")
    image_channels = checks.positive_int(image_channels, "image_channels")
    global_batch_size = checks.positive_int(global_batch_size, "global_batch_size")
    shuffle_buffer = checks.positive_int(shuffle_buffer, "shuffle_buffer")
    checks.check_on_corrupt(on_corrupt)
    pipeline.check_crop(crop)
    if seed is not None:
        seed = checks.as_int(seed, "seed")
    if num_classes is not None:
        num_classes = checks.positive_int(num_classes, "num_classes")
        if unconditional:
            raise ValueError("`num_classes` and `unconditional=True` exclude each other: an "
                             "unconditional dataset has no classes. "
                             f"Received: num_classes={num_classes}")
    checks.check_split_type(split)

    found = sources.find_source(source)
    kind = found.name
    checks.check_source_arguments(kind, labels=labels, value_range=value_range,
                                  image_key=image_key, label_key=label_key)
    if not found.train_fraction and train_fraction != 1.0:
        raise ValueError(f"`train_fraction` applies to the {sources.TRAIN_FRACTION_SOURCES} "
                         f"dataset only. Received: train_fraction={train_fraction}, "
                         f"source kind={kind!r}")
    args = types.SimpleNamespace(
        split=split, data_dir=data_dir, download=download, labels=labels, shuffle=shuffle,
        shuffle_buffer=shuffle_buffer, seed=seed, on_corrupt=on_corrupt,
        num_classes=num_classes, value_range=value_range, image_key=image_key,
        label_key=label_key, unconditional=unconditional, validate_images=validate_images,
        train_fraction=train_fraction, image_channels=image_channels)
    source_ds, n_classes, class_names, num_skipped = found.read(source, args)

    if unconditional or n_classes is None:
        source_ds = _without_labels(source_ds)
        n_classes, class_names = None, ()
    num_examples = source_ds.num_examples
    checks.check_num_examples(num_examples, kind=kind, split=split,
                              global_batch_size=global_batch_size,
                              drop_remainder=drop_remainder)
    dataset = pipeline.build_pipeline(
        source_ds, resolution=resolution, global_batch_size=global_batch_size,
        shuffle=shuffle, seed=seed, random_flip=random_flip, drop_remainder=drop_remainder,
        repeat=repeat, image_channels=image_channels, crop=crop)
    info = DatasetInfo(num_classes=None if n_classes is None else int(n_classes),
                       num_examples=int(num_examples), class_names=tuple(class_names),
                       image_shape=(resolution, resolution, image_channels),
                       num_skipped=int(num_skipped))
    return dataset, info


def _without_labels(source_ds):
    """The source with every label 0 (the `(images, labels)` structure stays)."""
    to_example = source_ds.to_example

    def unlabelled(*element):
        image, _ = to_example(*element)
        return image, tf.constant(0, tf.int32)

    return dataclasses.replace(source_ds, to_example=unlabelled)

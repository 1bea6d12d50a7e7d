"""`load_dataset`: images from any source as a batched `tf.data.Dataset`.

It checks the arguments (`checks`), reads the source (`digits`, `folder`, `arrays`,
`tfds_source`) and builds the pipeline (`pipeline`). The sources are described in the
`sagan_tf.data` package docstring.
"""

import dataclasses
import os

import numpy as np
import tensorflow as tf

from sagan_tf.data import arrays
from sagan_tf.data import checks
from sagan_tf.data import digits
from sagan_tf.data import folder
from sagan_tf.data import pipeline
from sagan_tf.data import tfds_source
from sagan_tf.data.dataset_info import DatasetInfo


def load_dataset(source, *, resolution, global_batch_size, split="train", data_dir=None,
                 download=False, labels=None, shuffle=True, shuffle_buffer=10_000, seed=None,
                 random_flip=False, drop_remainder=True, repeat=True, on_corrupt="skip",
                 num_classes=None, value_range=None, image_key=None, label_key=None,
                 unconditional=False,
                 validate_images=True, train_fraction=1.0, image_channels=3):
    """Builds a batched, shuffled, prefetched dataset of `(images, labels)`.

    The pipeline is: shuffle -> repeat -> read/decode, resize, scale to [-1, 1] (parallel) ->
    optional random horizontal flip -> batch -> prefetch. See the `sagan_tf.data` package
    docstring for the sources and how images are resized.

    Args:
        source: `"digits"`; an existing directory (`str` or `os.PathLike`; to read a folder
            named "digits", pass "./digits"), local or a URL on any TensorFlow filesystem
            (a string holding "://", such as "gs://bucket/images"); a tuple
            `(images, labels)` of NumPy arrays, or an images array with `labels=`; or any
            other string: a TFDS dataset name.
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
    if seed is not None:
        seed = checks.as_int(seed, "seed")
    if num_classes is not None:
        num_classes = checks.positive_int(num_classes, "num_classes")
        if unconditional:
            raise ValueError("`num_classes` and `unconditional=True` exclude each other: an "
                             "unconditional dataset has no classes. "
                             f"Received: num_classes={num_classes}")
    checks.check_split_type(split)

    kind, source = _source_kind(source, labels)
    checks.check_source_arguments(kind, labels=labels, value_range=value_range,
                                  image_key=image_key, label_key=label_key)

    num_skipped = 0
    if kind == "digits":
        digits.check_digits_split(split)
        n_classes, class_names = digits.NUM_DIGIT_CLASSES, digits.DIGIT_CLASS_NAMES
        checks.check_num_classes(num_classes, n_classes, "the digits dataset")
        source_ds = digits.digits_source(split, train_fraction)
    elif kind == "arrays":
        checks.check_whole_split(split, "NumPy arrays")
        images, labels_np = source
        images, labels_np, value_range, n_classes = arrays.check_arrays(
            images, labels_np, value_range, num_classes, image_channels)
        source_ds = arrays.array_source(images, labels_np, value_range=value_range,
                                        image_channels=image_channels)
        class_names = () if n_classes is None else tuple(str(i) for i in range(n_classes))
    elif kind == "folder":
        checks.check_whole_split(split, f"the folder {source!r}")
        paths, labels_np, class_names, num_skipped = folder.scan_folder(
            source, on_corrupt=on_corrupt, validate=validate_images,
            unconditional=unconditional)
        n_classes = len(class_names) if class_names else None
        checks.check_num_classes(num_classes, n_classes, f"the folder {source!r}")
        source_ds = folder.folder_source(paths, labels_np)
    else:
        source_ds, n_classes, class_names = tfds_source.tfds_source(
            source, split=split, data_dir=data_dir, download=download, shuffle=shuffle,
            shuffle_buffer=shuffle_buffer, seed=seed, image_key=image_key,
            label_key=label_key, unconditional=unconditional)
        checks.check_num_classes(num_classes, n_classes, f"the TFDS dataset {source!r}")

    if kind != "digits" and train_fraction != 1.0:
        raise ValueError("`train_fraction` applies to the 'digits' dataset only. "
                         f"Received: train_fraction={train_fraction}, source kind={kind!r}")
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
        repeat=repeat, image_channels=image_channels)
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


def _source_kind(source, labels):
    """Returns (kind, normalised source) with kind in digits/folder/arrays/tfds.

    A string is a folder if it is an existing directory, looks like a local path
    ("/...", "./...", "~..."), or is a URL (holds "://", e.g. "gs://bucket/images").
    """
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError("An arrays `source` must be a pair (images, labels). Received a "
                             f"tuple of length {len(source)}.")
        if labels is not None:
            raise ValueError("Pass labels either in `source=(images, labels)` or as "
                             "`labels=`, not both.")
        return "arrays", (np.asarray(source[0]),
                          None if source[1] is None else np.asarray(source[1]))
    if isinstance(source, np.ndarray):  # without labels: unconditional
        return "arrays", (source, None if labels is None else np.asarray(labels))
    if isinstance(source, os.PathLike):
        return "folder", folder.check_folder(os.fspath(source))
    if isinstance(source, str):
        if source == "digits":
            return "digits", source
        if "://" in source:  # A URL: never a TFDS name; `~` means nothing there.
            return "folder", folder.check_folder(source)
        expanded = os.path.expanduser(source)
        if tf.io.gfile.isdir(expanded) or source.startswith(("/", ".", "~")):
            return "folder", folder.check_folder(expanded)
        return "tfds", source
    raise TypeError("`source` must be 'digits', a directory path, a TFDS name or a tuple "
                    f"(images, labels) of NumPy arrays. Received: source of type "
                    f"{type(source).__name__}")

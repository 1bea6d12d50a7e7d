"""Input pipelines: labelled images as a batched `tf.data.Dataset` for SAGAN training.

`load_dataset` returns `(dataset, info)`. Every element of `dataset` is a pair
`(images, labels)`: `images` float32 of shape `[batch, resolution, resolution, 3]` with values in
[-1, 1] (the range of the generator's tanh output), `labels` int32 of shape `[batch]` with
values in `[0, info.num_classes)`. `info` is a `DatasetInfo`.

Sources, chosen by the type and value of `source`:

* `"digits"`: scikit-learn's bundled 8x8 handwritten digits (1,797 images, 10 classes,
  pixel values 0..16). Needs no download. Pixels are mapped linearly 0 -> -1, 16 -> 1, the
  grayscale channel is repeated to 3 channels and the image is resized (bilinear) to the
  resolution. A fixed, seeded, per-class held-out split is available with `split="train"`
  (about 80%), `split="test"` (about 20%) or `split="all"`; `digits_arrays` gives the same data
  as NumPy arrays, e.g. as real images for evaluation.
* an existing directory (a `str` or `os.PathLike`): one sub-folder per class,
  `root/<class_name>/**/<image>`. Class names are the sorted sub-folder names (hidden ones,
  starting with ".", are ignored) and a label is the index of its class name. Images with the
  extensions .png, .jpg, .jpeg, .bmp, .gif (first frame) and .webp are read with `tf.io`;
  grayscale is repeated to 3 channels and an alpha channel is dropped. Files that cannot be
  read or decoded are found before training starts (see `on_corrupt`).
* a tuple `(images, labels)` of NumPy arrays (or `source=images, labels=labels`): images of
  shape `[N, H, W]` or `[N, H, W, C]` with C in {1, 3, 4}; labels integers of shape `[N]`.
  `uint8` images hold 0..255; floating-point images need `value_range=(0, 1)` or
  `value_range=(-1, 1)` to say what they hold. Other dtypes are rejected.
* any other string: a TensorFlow Datasets name, as `tfds.builder` takes it
  ("name", "name:1.2.3", "name/config"), read from `data_dir`. The dataset must have an
  image feature and a `tfds.features.ClassLabel` feature. Nothing is downloaded unless
  `download=True`; an unprepared dataset raises an error that says how to prepare it.

Images that are not `resolution x resolution` are resized so that their shorter side is
`resolution` (bilinear, antialiased: `tf.image.resize(..., method="bilinear", antialias=True)`,
which equals plain bilinear interpolation when enlarging), then center-cropped to a square.
Square images are thus resized only.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import operator
import os

import numpy as np
import tensorflow as tf

logger = logging.getLogger(__name__)

#: Fraction of each digit class held out as `split="test"` for the built-in digits.
DIGITS_TEST_FRACTION = 0.2
#: Seed of the digits train/test split (NumPy's `RandomState`, whose stream never changes).
DIGITS_SPLIT_SEED = 0
#: File extensions (lower case) read from image folders.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")

_DIGITS_SPLITS = ("train", "test", "all")
_WHOLE_SPLITS = ("train", "all")  # splits accepted for folders and arrays: the whole data
_MAX_PATHS_SHOWN = 5


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What `load_dataset` loaded.

    Attributes:
        num_classes: Number of classes; labels lie in `[0, num_classes)`.
        num_examples: Examples in one epoch (after skipping corrupt files). With
            `drop_remainder=True` and `repeat=False` the last partial batch is not yielded.
        class_names: Name of each class, indexed by label.
        image_shape: Shape of one image, `(resolution, resolution, 3)`.
        num_skipped: Number of image files skipped as corrupt or unreadable (folders only).
    """

    num_classes: int
    num_examples: int
    class_names: tuple
    image_shape: tuple
    num_skipped: int = 0


def load_dataset(source, *, resolution, global_batch_size, split="train", data_dir=None,
                 download=False, labels=None, shuffle=True, shuffle_buffer=10_000, seed=None,
                 random_flip=False, drop_remainder=True, repeat=True, on_corrupt="skip",
                 num_classes=None, value_range=None, image_key=None, label_key=None,
                 validate_images=True):
    """Builds a batched, shuffled, prefetched dataset of `(images, labels)`.

    The pipeline is: shuffle -> repeat -> read/decode, resize, scale to [-1, 1] (parallel) ->
    optional random horizontal flip -> batch -> prefetch. See the module docstring for the
    sources and how images are resized.

    Args:
        source: `"digits"`; an existing directory (`str` or `os.PathLike`; to read a folder
            named "digits", pass "./digits"); a tuple `(images, labels)` of NumPy arrays, or
            an images array with `labels=`; or any other string: a TFDS dataset name.
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
        shuffle: Whether to shuffle. In-memory sources and folders shuffle the whole index
            list every epoch; TFDS shuffles its files and passes the examples (still
            encoded) through a buffer of `shuffle_buffer` examples.
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

    Returns:
        A pair `(dataset, info)`: a `tf.data.Dataset` of `(images, labels)` batches (float32
        `[batch, resolution, resolution, 3]` in [-1, 1], int32 `[batch]`), and a `DatasetInfo`.

    Raises:
        ValueError: For invalid arguments, a missing or empty folder, a corrupt file with
            `on_corrupt="raise"`, labels out of range, an unknown split or dataset, a TFDS
            dataset that is not prepared or has no image or label feature.
        TypeError: For a `source` of an unsupported type.
    """
    resolution = _positive_int(resolution, "resolution")
    global_batch_size = _positive_int(global_batch_size, "global_batch_size")
    shuffle_buffer = _positive_int(shuffle_buffer, "shuffle_buffer")
    if on_corrupt not in ("skip", "raise"):
        raise ValueError(f'`on_corrupt` must be "skip" or "raise". Received: '
                         f"on_corrupt={on_corrupt!r}")
    if seed is not None:
        seed = _int(seed, "seed")
    if num_classes is not None:
        num_classes = _positive_int(num_classes, "num_classes")
    if not isinstance(split, str):
        raise ValueError(f"`split` must be a string. Received: split={split!r}")

    kind, source = _source_kind(source, labels)
    if kind != "arrays" and labels is not None:
        raise ValueError("`labels` is only used when `source` is an images array; "
                         f"got labels with a {kind} source.")
    if kind != "arrays" and value_range is not None:
        raise ValueError("`value_range` is only used when `source` is NumPy arrays; "
                         f"got value_range={value_range!r} with a {kind} source.")
    if kind != "tfds" and (image_key is not None or label_key is not None):
        raise ValueError("`image_key` and `label_key` are only used for TFDS datasets.")

    if kind == "digits":
        if split not in _DIGITS_SPLITS:
            raise ValueError(f"Unknown split for the digits dataset: split={split!r}. "
                             f"Expected one of {_DIGITS_SPLITS}.")
        images, labels_np = _digits_raw(split)
        _check_num_classes(num_classes, 10, "the digits dataset")
        source_ds = _array_source(images, labels_np, value_range=(-1, 1))
        class_names = tuple(str(i) for i in range(10))
        n_classes, num_skipped = 10, 0
    elif kind == "arrays":
        _check_whole_split(split, "NumPy arrays")
        images, labels_np = source
        images, labels_np, value_range, n_classes = _check_arrays(
            images, labels_np, value_range, num_classes)
        source_ds = _array_source(images, labels_np, value_range=value_range)
        class_names = tuple(str(i) for i in range(n_classes))
        num_skipped = 0
    elif kind == "folder":
        _check_whole_split(split, f"the folder {source!r}")
        paths, labels_np, class_names, num_skipped = _scan_folder(
            source, on_corrupt=on_corrupt, validate=validate_images)
        n_classes = len(class_names)
        _check_num_classes(num_classes, n_classes, f"the folder {source!r}")
        source_ds = _folder_source(paths, labels_np)
    else:
        source_ds, n_classes, class_names = _tfds_source(
            source, split=split, data_dir=data_dir, download=download, shuffle=shuffle,
            shuffle_buffer=shuffle_buffer, seed=seed, image_key=image_key,
            label_key=label_key)
        _check_num_classes(num_classes, n_classes, f"the TFDS dataset {source!r}")
        num_skipped = 0

    num_examples = source_ds.num_examples
    if num_examples == 0:
        raise ValueError(f"The {kind} source has no examples (split={split!r}).")
    if drop_remainder and global_batch_size > num_examples:
        raise ValueError(
            f"`global_batch_size` ({global_batch_size}) is larger than the number of "
            f"examples ({num_examples}), so with drop_remainder=True not one batch could be "
            "made. Use a smaller global_batch_size or pass drop_remainder=False.")

    dataset = _build_pipeline(source_ds, resolution=resolution,
                              global_batch_size=global_batch_size, shuffle=shuffle,
                              seed=seed, random_flip=random_flip,
                              drop_remainder=drop_remainder, repeat=repeat)
    info = DatasetInfo(num_classes=int(n_classes), num_examples=int(num_examples),
                       class_names=tuple(class_names),
                       image_shape=(resolution, resolution, 3), num_skipped=int(num_skipped))
    return dataset, info


def digits_arrays(split="all", resolution=8):
    """The built-in digits as NumPy arrays, scaled and resized as `load_dataset` does.

    Args:
        split: `"train"`, `"test"` or `"all"` (the same fixed split as `load_dataset`).
        resolution: Positive int, the output height and width.

    Returns:
        `(images, labels)`: float32 `[N, resolution, resolution, 3]` in [-1, 1] and int32
        `[N]`, in the order of scikit-learn's `load_digits` (restricted to the split).
    """
    resolution = _positive_int(resolution, "resolution")
    if split not in _DIGITS_SPLITS:
        raise ValueError(f"Unknown split for the digits dataset: split={split!r}. "
                         f"Expected one of {_DIGITS_SPLITS}.")
    images, labels = _digits_raw(split)
    x = tf.convert_to_tensor(images[..., None])  # [N, 8, 8, 1] in [-1, 1]
    x = tf.image.resize(x, [resolution, resolution], method="bilinear", antialias=True)
    x = tf.clip_by_value(tf.tile(x, [1, 1, 1, 3]), -1.0, 1.0)
    return x.numpy().astype(np.float32), labels


# --------------------------------------------------------------------------- argument checks


def _int(value, name):
    if isinstance(value, bool):
        raise ValueError(f"`{name}` must be an int. Received: {name}={value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"`{name}` must be an int. Received: {name}={value!r}") from None


def _positive_int(value, name):
    if isinstance(value, bool):
        value_ok = None
    else:
        try:
            value_ok = operator.index(value)
        except TypeError:
            value_ok = None
    if value_ok is None or value_ok <= 0:
        raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    return value_ok


def _check_num_classes(requested, actual, what):
    if requested is not None and requested != actual:
        raise ValueError(f"`num_classes`={requested} does not match {what}, which has "
                         f"{actual} classes. Pass num_classes=None or num_classes={actual}.")


def _check_whole_split(split, what):
    if split not in _WHOLE_SPLITS:
        raise ValueError(
            f"Unknown split for {what}: split={split!r}. Folders and arrays have no splits: "
            f"use split='train' or split='all' (all of their examples), and pass held-out "
            "data as a source of its own.")


def _source_kind(source, labels):
    """Returns (kind, normalised source) with kind in digits/folder/arrays/tfds."""
    if isinstance(source, tuple):
        if len(source) != 2:
            raise ValueError("An arrays `source` must be a pair (images, labels). Received a "
                             f"tuple of length {len(source)}.")
        if labels is not None:
            raise ValueError("Pass labels either in `source=(images, labels)` or as "
                             "`labels=`, not both.")
        return "arrays", (np.asarray(source[0]), np.asarray(source[1]))
    if isinstance(source, np.ndarray):
        if labels is None:
            raise ValueError("`source` is an images array but `labels` is None. Pass "
                             "labels=<int array of shape [N]> or source=(images, labels).")
        return "arrays", (source, np.asarray(labels))
    if isinstance(source, os.PathLike):
        return "folder", _check_folder(os.fspath(source))
    if isinstance(source, str):
        if source == "digits":
            return "digits", source
        expanded = os.path.expanduser(source)
        if os.path.isdir(expanded) or source.startswith(("/", ".", "~")):
            return "folder", _check_folder(expanded)
        return "tfds", source
    raise TypeError("`source` must be 'digits', a directory path, a TFDS name or a tuple "
                    f"(images, labels) of NumPy arrays. Received: source of type "
                    f"{type(source).__name__}")


# --------------------------------------------------------------------------- pipeline


@dataclasses.dataclass
class _Source:
    """A dataset of raw elements plus how to turn one into a model example.

    `dataset` yields raw elements (indices, or encoded TFDS images with labels);
    `shuffle_fn(dataset, seed)` shuffles it (applied before repeat); `to_example` maps an
    element to a pair (float32 image [H, W, 3] in [-1, 1] at its own size, int32 label).
    """

    dataset: tf.data.Dataset
    num_examples: int
    shuffle_fn: object
    to_example: object
    auto_shard_by_data: bool = True


def _build_pipeline(src, *, resolution, global_batch_size, shuffle, seed, random_flip,
                    drop_remainder, repeat):
    ds = src.dataset
    if shuffle:
        ds = src.shuffle_fn(ds, seed)
    if repeat:
        ds = ds.repeat()

    def to_model_input(*element):
        image, label = src.to_example(*element)
        image = _resize_center_crop(image, resolution)
        image = tf.ensure_shape(image, [resolution, resolution, 3])
        return image, label

    ds = ds.map(to_model_input, num_parallel_calls=tf.data.AUTOTUNE)
    if random_flip:
        flip_seed = None if seed is None else (seed + 1) % (2**63)
        coins = tf.data.Dataset.random(seed=flip_seed)

        def flip(example, coin):
            image, label = example
            image = tf.cond(tf.equal(coin % 2, 1),
                            lambda: tf.reverse(image, axis=[1]), lambda: image)
            return image, label

        ds = tf.data.Dataset.zip((ds, coins)).map(flip, num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.batch(global_batch_size, drop_remainder=drop_remainder)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    if src.auto_shard_by_data:
        # Index-based datasets have no files to shard between workers.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA)
        ds = ds.with_options(options)
    return ds


def _resize_center_crop(image, resolution):
    """Resizes (shorter side -> resolution, bilinear, antialiased), center-crops a square."""
    static = image.shape
    if static[0] == resolution and static[1] == resolution:
        return image
    shape = tf.shape(image)
    h = tf.cast(shape[0], tf.float32)
    w = tf.cast(shape[1], tf.float32)
    scale = resolution / tf.minimum(h, w)
    new_h = tf.maximum(tf.cast(tf.round(h * scale), tf.int32), resolution)
    new_w = tf.maximum(tf.cast(tf.round(w * scale), tf.int32), resolution)
    image = tf.image.resize(image, tf.stack([new_h, new_w]), method="bilinear",
                            antialias=True)
    top = (new_h - resolution) // 2
    left = (new_w - resolution) // 2
    image = image[top:top + resolution, left:left + resolution, :]
    # Bilinear weights are non-negative and sum to 1, so this only removes rounding.
    return tf.clip_by_value(image, -1.0, 1.0)


def _to_unit_range(image, value_range):
    """Casts an image tensor to float32 in [-1, 1] given the range of its values."""
    lo, hi = value_range
    image = tf.cast(image, tf.float32)
    if (lo, hi) == (-1, 1):
        return image
    half = (hi - lo) / 2.0
    return image / half - (lo / half + 1.0)


def _to_rgb(image):
    """[H, W, C] with static C in {1, 3, 4} -> [H, W, 3] (gray repeated, alpha dropped)."""
    channels = image.shape[-1]
    if channels == 1:
        return tf.tile(image, [1, 1, 3])
    if channels == 2:  # gray + alpha
        return tf.tile(image[..., :1], [1, 1, 3])
    if channels == 4:
        return image[..., :3]
    return image


def _index_shuffle(num_examples):
    def shuffle_fn(ds, seed):
        return ds.shuffle(num_examples, seed=seed, reshuffle_each_iteration=True)
    return shuffle_fn


# --------------------------------------------------------------------------- digits


@functools.lru_cache(maxsize=1)
def _load_digits():
    """scikit-learn's bundled digits as read-only (images [1797, 8, 8] 0..16, target)."""
    from sklearn.datasets import load_digits

    digits = load_digits()
    digits.images.setflags(write=False)
    digits.target.setflags(write=False)
    return digits.images, digits.target


def _digits_split_indices(split):
    """Indices into `load_digits()` of a split: a fixed, seeded, per-class held-out set."""
    _, target = _load_digits()
    if split == "all":
        return np.arange(len(target))
    rng = np.random.RandomState(DIGITS_SPLIT_SEED)
    test = []
    for c in np.unique(target):
        members = np.flatnonzero(target == c)
        members = members[rng.permutation(len(members))]
        test.extend(members[:int(round(DIGITS_TEST_FRACTION * len(members)))])
    is_test = np.zeros(len(target), bool)
    is_test[test] = True
    return np.flatnonzero(is_test if split == "test" else ~is_test)


def _digits_raw(split):
    """8x8 digits of a split as float32 [N, 8, 8] in [-1, 1] (0 -> -1, 16 -> 1), int32 labels."""
    all_images, target = _load_digits()
    idx = _digits_split_indices(split)
    images = (all_images[idx].astype(np.float32) / 8.0 - 1.0).astype(np.float32)
    return images, target[idx].astype(np.int32)


# --------------------------------------------------------------------------- arrays


def _check_arrays(images, labels, value_range, num_classes):
    if images.ndim not in (3, 4):
        raise ValueError("Images must have shape [N, H, W] or [N, H, W, C]. Received an "
                         f"array of rank {images.ndim} with shape {images.shape}.")
    if images.ndim == 3:
        images = images[..., None]
    n, h, w, c = images.shape
    if c not in (1, 3, 4):
        raise ValueError("Images must have 1 (gray), 3 (RGB) or 4 (RGBA) channels. "
                         f"Received shape {images.shape}.")
    if n == 0 or h == 0 or w == 0:
        raise ValueError(f"Images must not be empty. Received shape {images.shape}.")

    if images.dtype == np.uint8:
        if value_range not in (None, (0, 255)):
            raise ValueError("uint8 images always hold 0..255; `value_range` must be None "
                             f"or (0, 255). Received: value_range={value_range!r}")
        value_range = (0, 255)
    elif np.issubdtype(images.dtype, np.floating):
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
    else:
        raise ValueError(
            f"Unsupported image dtype {images.dtype}. Use uint8 (values 0..255) or a "
            "floating-point dtype with value_range=(0, 1) or (-1, 1); e.g. convert integer "
            "images holding 0..255 with images.astype(np.uint8).")

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
    return images, labels.astype(np.int32), value_range, num_classes


def _array_source(images, labels, value_range):
    """Index-based source over in-memory arrays (the shuffle buffer holds indices only)."""
    if images.ndim == 3:
        images = images[..., None]
    images_t = tf.constant(images)
    labels_t = tf.constant(labels.astype(np.int32))

    def to_example(i):
        image = _to_rgb(tf.gather(images_t, i))
        return _to_unit_range(image, value_range), tf.gather(labels_t, i)

    n = int(images.shape[0])
    return _Source(dataset=tf.data.Dataset.range(n), num_examples=n,
                   shuffle_fn=_index_shuffle(n), to_example=to_example)


# --------------------------------------------------------------------------- folders


def _check_folder(path):
    if not os.path.exists(path):
        raise ValueError(f"Image folder {path!r} does not exist. Pass an existing directory "
                         "holding one sub-folder of images per class.")
    if not os.path.isdir(path):
        raise ValueError(f"Image folder {path!r} is not a directory. Pass a directory "
                         "holding one sub-folder of images per class.")
    return path


def _decode_file(path):
    """Reads and decodes one image file to uint8 [H, W, 3] (the pipeline's decoder)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def _scan_folder(root, *, on_corrupt, validate):
    """Lists class sub-folders and images; finds undecodable files. Returns
    (paths, labels, class_names, num_skipped)."""
    entries = sorted(e for e in os.listdir(root) if not e.startswith("."))
    if not entries:
        raise ValueError(
            f"Image folder {root!r} is empty. Put the images in one sub-folder per class, "
            f"e.g. {os.path.join(root, 'cat', '0001.png')!r}.")
    class_names = [e for e in entries if os.path.isdir(os.path.join(root, e))]
    if not class_names:
        raise ValueError(
            f"Image folder {root!r} has no class sub-folders. Put the images in one "
            f"sub-folder per class, e.g. {os.path.join(root, 'cat', '0001.png')!r}.")
    paths, labels = [], []
    for label, name in enumerate(class_names):
        found = []
        for dirpath, dirnames, filenames in os.walk(os.path.join(root, name),
                                                    followlinks=True):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            found.extend(os.path.join(dirpath, f) for f in filenames
                         if not f.startswith(".")
                         and os.path.splitext(f)[1].lower() in IMAGE_EXTENSIONS)
        found.sort()
        if not found:
            logger.warning("Class sub-folder %r has no images.", os.path.join(root, name))
        paths.extend(found)
        labels.extend([label] * len(found))
    if not paths:
        raise ValueError(
            f"Image folder {root!r} has class sub-folders {class_names} but no image files "
            f"in them (extensions {', '.join(IMAGE_EXTENSIONS)}).")

    num_skipped = 0
    if validate:
        bad = _undecodable(paths)
        if bad:
            if on_corrupt == "raise":
                shown = "\n".join(f"  {paths[i]}: {_decode_error(paths[i])}"
                                  for i in bad[:_MAX_PATHS_SHOWN])
                more = (f"\n  ... and {len(bad) - _MAX_PATHS_SHOWN} more"
                        if len(bad) > _MAX_PATHS_SHOWN else "")
                raise ValueError(
                    f"{len(bad)} image file(s) under {root!r} could not be read or decoded:"
                    f"\n{shown}{more}\nRemove or fix them, or pass on_corrupt='skip' to "
                    "leave them out.")
            logger.warning(
                "Skipped %d corrupt or unreadable image file(s) under %r, e.g. %s",
                len(bad), root, ", ".join(repr(paths[i]) for i in bad[:_MAX_PATHS_SHOWN]))
            bad_set = set(bad)
            keep = [i for i in range(len(paths)) if i not in bad_set]
            paths = [paths[i] for i in keep]
            labels = [labels[i] for i in keep]
            num_skipped = len(bad)
            if not paths:
                raise ValueError(f"None of the image files under {root!r} could be read or "
                                 "decoded.")
    return paths, np.asarray(labels, np.int32), tuple(class_names), num_skipped


def _undecodable(paths):
    """Indices of the files that `_decode_file` fails on, decoding all files in parallel."""
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(paths, tf.string)).enumerate()
    ds = ds.map(lambda i, p: (i, tf.shape(_decode_file(p))[0]),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    ds = ds.ignore_errors().batch(4096)
    ok = np.zeros(len(paths), bool)
    for indices, _ in ds.as_numpy_iterator():
        ok[indices] = True
    return [int(i) for i in np.flatnonzero(~ok)]


def _decode_error(path):
    """TensorFlow's reason for failing to read or decode one file (for error messages)."""
    try:
        _decode_file(tf.constant(path))
    except (tf.errors.OpError, OSError) as e:  # pragma: no branch
        message = getattr(e, "message", str(e)).strip().splitlines()
        return message[0] if message else type(e).__name__
    return "decoded on retry (was it changed?)"


def _folder_source(paths, labels):
    paths_t = tf.constant(paths, tf.string)
    labels_t = tf.constant(labels, tf.int32)

    def to_example(i):
        image = _decode_file(tf.gather(paths_t, i))
        return _to_unit_range(image, (0, 255)), tf.gather(labels_t, i)

    n = len(paths)
    return _Source(dataset=tf.data.Dataset.range(n), num_examples=n,
                   shuffle_fn=_index_shuffle(n), to_example=to_example)


# --------------------------------------------------------------------------- TFDS


def _tfds_source(name, *, split, data_dir, download, shuffle, shuffle_buffer, seed,
                 image_key, label_key):
    import tensorflow_datasets as tfds

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(
            f"`source`={name!r} is not 'digits', not an existing directory, and not a "
            f"TFDS dataset known here or prepared in data_dir={data_dir!r}. Check the name "
            "(see `tfds.list_builders()`) or the data_dir, or pass the path of an image "
            "folder.") from None
    if not builder.is_prepared():
        if download:
            builder.download_and_prepare()
        else:
            where = data_dir if data_dir is not None else "~/tensorflow_datasets (the default)"
            flag = f" --data_dir={data_dir}" if data_dir is not None else ""
            raise ValueError(
                f"The TFDS dataset {name!r} is not prepared in data_dir={where} (looked for "
                f"{os.fspath(builder.data_dir)!r}), and download=False. Prepare it on a "
                f"machine with network access with `tfds build {name}{flag}` (datasets with "
                "manual downloads also need --manual_dir=...) and copy the data_dir here, "
                "or call load_dataset(..., download=True) where there is network.")

    features = builder.info.features
    image_key = _pick_feature(features, image_key, tfds.features.Image, "image", builder, 0,
                              name, "image_key")
    label_key = _pick_feature(features, label_key, tfds.features.ClassLabel, "label",
                              builder, 1, name, "label_key")
    label_feature = features[label_key]
    num_classes = int(label_feature.num_classes)
    class_names = tuple(label_feature.names)
    try:
        num_examples = int(builder.info.splits[split].num_examples)
    except (KeyError, ValueError) as e:
        raise ValueError(f"Unknown split {split!r} for the TFDS dataset {name!r}: {e} "
                         f"Available splits: {sorted(builder.info.splits.keys())}.") from None

    # Images stay encoded until after the shuffle buffer, which so holds bytes, not pixels.
    image_feature = features[image_key]
    ds = builder.as_dataset(
        split=split, shuffle_files=shuffle,
        decoders={image_key: tfds.decode.SkipDecoding()},
        read_config=tfds.ReadConfig(shuffle_seed=seed))
    ds = ds.map(lambda ex: (ex[image_key], ex[label_key]))
    dtype = tf.as_dtype(image_feature.dtype)

    def shuffle_fn(d, s):
        return d.shuffle(min(shuffle_buffer, num_examples), seed=s,
                         reshuffle_each_iteration=True)

    def to_example(encoded, label):
        image = image_feature.decode_example(encoded)
        image = _to_rgb(image)
        if dtype.is_integer:
            image = _to_unit_range(image, (0, dtype.max))
        else:  # TFDS float images hold [0, 1]
            image = _to_unit_range(image, (0, 1))
        label = tf.cast(label, tf.int32)
        with tf.control_dependencies([
                tf.debugging.assert_greater_equal(
                    label, 0, message=f"Label out of range [0, {num_classes})"),
                tf.debugging.assert_less(
                    label, num_classes, message=f"Label out of range [0, {num_classes})")]):
            label = tf.identity(label)
        return image, label

    src = _Source(dataset=ds, num_examples=num_examples, shuffle_fn=shuffle_fn,
                  to_example=to_example, auto_shard_by_data=False)
    return src, num_classes, class_names


def _pick_feature(features, key, feature_type, default_key, builder, supervised_pos, name,
                  arg):
    """Chooses the top-level feature of `feature_type`: `key`, else the supervised key, else
    `default_key`, else the only one."""
    kind = "image" if feature_type.__name__ == "Image" else "ClassLabel"
    candidates = [k for k, f in features.items() if isinstance(f, feature_type)]
    described = {k: type(f).__name__ for k, f in features.items()}
    if key is not None:
        if key not in candidates:
            raise ValueError(f"`{arg}`={key!r} is not an {kind} feature of the TFDS dataset "
                             f"{name!r}. Its features: {described}.")
        return key
    supervised = builder.info.supervised_keys
    if (isinstance(supervised, tuple) and len(supervised) == 2
            and isinstance(supervised[supervised_pos], str)
            and supervised[supervised_pos] in candidates):
        return supervised[supervised_pos]
    if default_key in candidates:
        return default_key
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        raise ValueError(f"The TFDS dataset {name!r} has no top-level {kind} feature, so it "
                         f"cannot be used for class-conditional image training. Its "
                         f"features: {described}.")
    raise ValueError(f"The TFDS dataset {name!r} has several {kind} features "
                     f"{sorted(candidates)}; choose one with `{arg}`=...")

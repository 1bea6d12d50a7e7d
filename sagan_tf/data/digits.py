"""The built-in digits source: scikit-learn's bundled 8x8 handwritten digits.

1,797 images, 10 classes, pixel values 0..16, mapped linearly 0 -> -1, 16 -> 1. A fixed,
seeded, per-class held-out split: `"train"` (about 80%), `"test"` (about
`DIGITS_TEST_FRACTION`) or `"all"`. `train_fraction` < 1 keeps a fixed, seeded,
class-stratified part of the training split (for small-data experiments such as
DiffAugment's); the test split stays the same.
"""

import functools

import numpy as np
import tensorflow as tf

from sagan_tf.data import arrays
from sagan_tf.data import checks

#: Fraction of each digit class held out as `split="test"` for the built-in digits.
DIGITS_TEST_FRACTION = 0.2
#: Seed of the digits train/test split (NumPy's `RandomState`, whose stream never changes).
DIGITS_SPLIT_SEED = 0
#: The splits of the built-in digits.
DIGITS_SPLITS = ("train", "test", "all")
#: Number of digit classes, and their names.
NUM_DIGIT_CLASSES = 10
DIGIT_CLASS_NAMES = tuple(str(i) for i in range(NUM_DIGIT_CLASSES))


def digits_arrays(split="all", resolution=8, train_fraction=1.0):
    """The built-in digits as NumPy arrays, scaled and resized as `load_dataset` does.

    Args:
        split: `"train"`, `"test"` or `"all"` (the same fixed split as `load_dataset`).
        resolution: Positive int, the output height and width.
        train_fraction: in (0, 1]: of `split="train"`, keep about this fraction of
            each class (see `digits_train_subset`); 1 keeps all.

    Returns:
        `(images, labels)`: float32 `[N, resolution, resolution, 3]` in [-1, 1] and int32
        `[N]`, in the order of scikit-learn's `load_digits` (restricted to the split).
    """
    resolution = checks.positive_int(resolution, "resolution")
    check_digits_split(split)
    images, labels = _digits_raw(split, train_fraction)
    x = tf.convert_to_tensor(images[..., None])  # [N, 8, 8, 1] in [-1, 1]
    x = tf.image.resize(x, [resolution, resolution], method="bilinear", antialias=True)
    x = tf.clip_by_value(tf.tile(x, [1, 1, 1, 3]), -1.0, 1.0)
    return x.numpy().astype(np.float32), labels


def check_digits_split(split):
    if split not in DIGITS_SPLITS:
        raise ValueError(f"Unknown split for the digits dataset: split={split!r}. "
                         f"Expected one of {DIGITS_SPLITS}.")


def digits_source(split, train_fraction=1.0):
    """The pipeline source of a digits split (images at 8x8, resized by the pipeline),
    `train_fraction` of it for `split="train"` (see `digits_arrays`)."""
    images, labels = _digits_raw(split, train_fraction)
    return arrays.array_source(images, labels, value_range=(-1, 1))


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


def check_train_fraction(train_fraction, split):
    """Returns `train_fraction` as a float; raises unless in (0, 1], and 1 for splits
    other than "train"."""
    if isinstance(train_fraction, bool) or not isinstance(train_fraction, (int, float)) \
            or not 0.0 < train_fraction <= 1.0:
        raise ValueError("`train_fraction` must be a number in (0, 1]. "
                         f"Received: train_fraction={train_fraction!r}")
    if train_fraction != 1.0 and split != "train":
        raise ValueError("`train_fraction` applies to split='train' only. "
                         f"Received: train_fraction={train_fraction}, split={split!r}")
    return float(train_fraction)


def digits_train_subset(train_fraction):
    """Indices into `load_digits()` of `train_fraction` of the training split.

    For each class c with n_c training images: max(1, round(train_fraction * n_c)) of
    them, the first of a permutation by `RandomState(DIGITS_SPLIT_SEED + 1)`, returned
    in `load_digits` order. Fixed: the same fraction always gives the same images.
    """
    train_fraction = check_train_fraction(train_fraction, "train")
    _, target = _load_digits()
    train = _digits_split_indices("train")
    if train_fraction == 1.0:
        return train
    rng = np.random.RandomState(DIGITS_SPLIT_SEED + 1)
    keep = []
    for c in np.unique(target[train]):
        members = train[target[train] == c]
        members = members[rng.permutation(len(members))]
        keep.extend(members[:max(1, int(round(train_fraction * len(members))))])
    return np.sort(np.asarray(keep))


def _digits_raw(split, train_fraction=1.0):
    """8x8 digits of a split as float32 [N, 8, 8] in [-1, 1] (0 -> -1, 16 -> 1), int32 labels."""
    all_images, target = _load_digits()
    check_train_fraction(train_fraction, split)
    idx = (digits_train_subset(train_fraction) if split == "train"
           else _digits_split_indices(split))
    images = (all_images[idx].astype(np.float32) / 8.0 - 1.0).astype(np.float32)
    return images, target[idx].astype(np.int32)

"""The batched pipeline every source feeds, and the image conversions the sources share.

A source module describes its data as a `_Source` (made with `index_source` or
`streamed_source`): raw elements and how to turn one into an example. `build_pipeline`
orders the examples (shuffled epochs), turns them into examples and resizes them to
squares (`resize_to_square`: `crop="center"` or `"none"`, `CROPS`), flips, batches and
prefetches; `resume_dataset` gives the same
batches from any batch on.

Index sources (arrays, folders, digits) are random access, so their whole stream is a
function of the position: the example at position p (p = b * global_batch + i for
example i of batch b, counting over epochs) is

    epoch, j = p // N, p % N
    index    = index_shuffle(j, seed=[shuffle_key, epoch], max_index=N - 1)
    flipped  = stateless_uniform([], seed=[flip_key, p], 0, 2, int64) == 1

with `tf.random.experimental.index_shuffle` (a seeded bijection of 0 .. N-1: every epoch
is a permutation of all N examples, each epoch another one) and two keys derived from
the seed (`_data_keys`). Resuming at batch b therefore starts counting at b *
global_batch: it costs the same at step 10 as at step 10**6, and gives exactly the
batches an uninterrupted stream would.

Streamed sources (TFDS) are read from files, in an order fixed by the seed, and epoch e
passes through the shuffle buffer with a seed of (seed, e); the flips are keyed on the
position as above. Resuming at position p starts at epoch p // N, skipping the epochs
before it whole, and reads (without decoding) and drops the p % N examples before p in
that epoch: at most one epoch of reading, whatever the step.
"""

import dataclasses
import functools
import weakref

import numpy as np
import tensorflow as tf

from sagan_tf import compat


@dataclasses.dataclass
class _Source:
    """Raw elements plus how to turn one into a model example.

    An index source (`indexed`) is random access: `to_example(index)` for any index in
    `0 .. num_examples - 1`. A streamed one has a `dataset` of raw elements (encoded TFDS
    images with labels) and `shuffle_fn(dataset, seed)`, which shuffles one epoch of it
    (`seed`: an int64 scalar tensor, the epoch's op seed).
    `to_example` maps an element to a pair (float32 image [H, W, 3] in [-1, 1] at its own
    size, int32 label).
    """

    dataset: tf.data.Dataset
    num_examples: int
    shuffle_fn: object
    to_example: object
    auto_shard_by_data: bool = True
    indexed: bool = False


def index_source(num_examples, to_example):
    """A random-access source over the indices `0 .. num_examples - 1` (in-memory arrays,
    file lists).

    Every epoch is a seeded permutation of all indices, computed from the position (see
    the module docstring), and a distribution strategy shards the batches between
    workers by data (there are no files to shard).
    """
    return _Source(dataset=tf.data.Dataset.range(num_examples), num_examples=num_examples,
                   shuffle_fn=None, to_example=to_example, indexed=True)


def streamed_source(dataset, num_examples, shuffle_fn, to_example):
    """A source over a dataset read from files (TFDS), sharded by tf.data's default policy."""
    return _Source(dataset=dataset, num_examples=num_examples, shuffle_fn=shuffle_fn,
                   to_example=to_example, auto_shard_by_data=False)


#: The datasets `build_pipeline` made, each with how to build it from another batch on.
_RESUMABLE = weakref.WeakKeyDictionary()


def build_pipeline(src, *, resolution, global_batch_size, shuffle, seed, random_flip,
                   drop_remainder, repeat, start_batch=0, image_channels=3, crop="center"):
    """order -> to_example, resize to a square (`resize_to_square` with `crop`), to
    `image_channels` (`to_channels`), flip (parallel) -> batch -> prefetch, from batch
    `start_batch` on (see the module docstring)."""
    if seed is None:  # unseeded: a fresh order (and flips) for this dataset
        seed = int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> 1)
    build = functools.partial(_build, src, resolution=resolution,
                              global_batch_size=global_batch_size, shuffle=shuffle,
                              seed=seed, random_flip=random_flip,
                              drop_remainder=drop_remainder, repeat=repeat,
                              image_channels=image_channels, crop=crop)
    ds = build(start_batch)
    _RESUMABLE[ds] = build
    return ds


def resume_dataset(dataset, start_batch):
    """The batches of `dataset` (from `load_dataset`) from batch `start_batch` on.

    The same batches as `dataset.skip(start_batch)`, but computed for arrays, folders and
    digits (no batch before `start_batch` is read or decoded: the cost does not grow with
    `start_batch`). TFDS datasets skip the epochs before it whole and read, still
    encoded, the examples before it in its own epoch: at most one epoch.

    Raises:
        ValueError: if `dataset` was not returned by `load_dataset`, or `start_batch` is
            negative.
    """
    start_batch = int(start_batch)
    if start_batch < 0:
        raise ValueError(f"`start_batch` must be non-negative. Received: "
                         f"start_batch={start_batch}")
    build = _RESUMABLE.get(dataset)
    if build is None:
        raise ValueError("`dataset` must be a dataset returned by `load_dataset` (not one "
                         "derived from it with map, skip, ...): only those know how to "
                         "start at another batch.")
    if start_batch == 0:
        return dataset
    resumed = build(start_batch)
    _RESUMABLE[resumed] = build
    return resumed


def _data_keys(seed):
    """(shuffle key, flip key): two non-negative int63 words derived from `seed` by NumPy's
    `SeedSequence([seed mod 2**64, purpose])`, apart from the seed itself so that the
    data never draws the latent noise's stateless streams (`sagan_tf.noise`)."""
    words = []
    for purpose in (1, 2):
        state = np.random.SeedSequence([seed % 2**64, purpose]).generate_state(1, np.uint64)
        words.append(int(state[0] >> 1))
    return words


def _build(src, start_batch, *, resolution, global_batch_size, shuffle, seed, random_flip,
           drop_remainder, repeat, image_channels=3, crop="center"):
    def model_input(image, label):
        image = to_channels(resize_to_square(image, resolution, crop), image_channels)
        image = tf.ensure_shape(image, [resolution, resolution, image_channels])
        return image, label

    examples = _indexed_examples if src.indexed else _streamed_examples
    ds = examples(src, model_input, global_batch_size * start_batch, shuffle=shuffle,
                  seed=seed, random_flip=random_flip, repeat=repeat)
    ds = ds.batch(global_batch_size, drop_remainder=drop_remainder)
    ds = ds.prefetch(tf.data.AUTOTUNE)
    if src.auto_shard_by_data:
        # Index-based datasets have no files to shard between workers.
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA)
        ds = ds.with_options(options)
    return ds


def _indexed_examples(src, model_input, first, *, shuffle, seed, random_flip, repeat):
    """The examples at positions first, first + 1, ... (see the module docstring)."""
    n = src.num_examples
    shuffle_key, flip_key = _data_keys(seed)
    if repeat:
        positions = tf.data.Dataset.counter(start=first, dtype=tf.int64)
    else:
        positions = tf.data.Dataset.range(min(first, n), n)

    def example(p):
        j = p % n
        if shuffle:
            epoch_seed = tf.stack([tf.constant(shuffle_key, tf.int64), p // n])
            j = tf.random.experimental.index_shuffle(j, epoch_seed, tf.constant(n - 1, tf.int64))
        image, label = model_input(*src.to_example(j))
        return _flip(image, flip_key, p) if random_flip else image, label

    return positions.map(example, num_parallel_calls=tf.data.AUTOTUNE)


def _streamed_examples(src, model_input, first, *, shuffle, seed, random_flip, repeat):
    """The examples at positions first, first + 1, ... of a streamed source: epoch e is
    the files in a seed-fixed order through the shuffle buffer seeded by (seed, e), so
    the epochs before `first` are skipped whole and only the examples before it in its
    own epoch are read (still encoded) and dropped."""
    n = src.num_examples
    shuffle_key, flip_key = _data_keys(seed)
    start_epoch, offset = divmod(first, n)

    def epoch(e):
        if not shuffle:
            return src.dataset
        compat.allow_tensor_seeds_in_traced_function()
        return src.shuffle_fn(src.dataset,
                              (shuffle_key % _INT31 + e * _EPOCH_STRIDE) % _INT31)

    if repeat:
        ds = tf.data.Dataset.counter(start=start_epoch, dtype=tf.int64).flat_map(epoch)
    else:  # one epoch, and its cardinality known (flat_map would lose it)
        ds = epoch(tf.constant(0, tf.int64)) if start_epoch == 0 else src.dataset.take(0)
    if offset:
        ds = ds.skip(offset)
    positions = tf.data.Dataset.counter(start=first, dtype=tf.int64)

    def example(element, p):
        image, label = model_input(*src.to_example(*element))
        return _flip(image, flip_key, p) if random_flip else image, label

    return tf.data.Dataset.zip((ds, positions)).map(example,
                                                    num_parallel_calls=tf.data.AUTOTUNE)


#: Epoch e of a streamed source shuffles with op seed (key + e * stride) mod (2**31 - 1).
_EPOCH_STRIDE = 1_000_003
_INT31 = 2**31 - 1


def _flip(image, flip_key, p):
    """The image, mirrored left-right when the coin of position p comes up 1."""
    coin = tf.random.stateless_uniform(
        [], tf.stack([tf.constant(flip_key, tf.int64), p]), 0, 2, tf.int64)
    return tf.cond(tf.equal(coin, 1), lambda: tf.reverse(image, axis=[1]), lambda: image)


#: How `resize_to_square` makes a square of an image of another shape (the `crop`
#: argument of `load_dataset`, `--crop` of sagan-train), as the training log says it.
CROPS = {
    "center": "the shorter side resized to {resolution}, bilinear and antialiased, then "
              "center-cropped to a square",
    "none": "the longer side resized to {resolution}, bilinear and antialiased, keeping "
            "the aspect ratio, then padded to a square (centred) with copies of the edge "
            "pixels, nothing cropped",
}


def check_crop(crop):
    """`crop` must be a key of `CROPS`."""
    if crop not in CROPS:
        raise ValueError(f"`crop` must be one of {sorted(CROPS)}. Received: crop={crop!r}")
    return crop


def resize_to_square(image, resolution, crop="center"):
    """[H, W, C] -> [resolution, resolution, C] as `CROPS[crop]` says. Square images are
    only resized (the same for both), `resolution x resolution` ones returned as they are."""
    if crop == "center":
        return resize_center_crop(image, resolution)
    return resize_pad(image, resolution)


def _resize(image, scale, lo, hi, resolution):
    """The image resized (bilinear, antialiased) to round(side * scale), clamped to
    [lo, hi] per side, and its new height and width."""
    shape = tf.shape(image)
    h, w = tf.cast(shape[0], tf.float32), tf.cast(shape[1], tf.float32)
    scale = resolution / scale(h, w)
    new_h = tf.clip_by_value(tf.cast(tf.round(h * scale), tf.int32), lo, hi)
    new_w = tf.clip_by_value(tf.cast(tf.round(w * scale), tf.int32), lo, hi)
    image = tf.image.resize(image, tf.stack([new_h, new_w]), method="bilinear",
                            antialias=True)
    return image, new_h, new_w


def resize_center_crop(image, resolution):
    """Resizes (shorter side -> resolution, bilinear, antialiased), center-crops a square."""
    if image.shape[0] == resolution and image.shape[1] == resolution:
        return image
    image, new_h, new_w = _resize(image, tf.minimum, resolution, tf.int32.max, resolution)
    top = (new_h - resolution) // 2
    left = (new_w - resolution) // 2
    image = image[top:top + resolution, left:left + resolution, :]
    # Bilinear weights are non-negative and sum to 1, so this only removes rounding.
    return tf.clip_by_value(image, -1.0, 1.0)


def resize_pad(image, resolution):
    """Resizes (longer side -> resolution, bilinear, antialiased), then pads the shorter
    side to a square with copies of its edge pixels (NumPy's `np.pad(mode="edge")`),
    (resolution - side) // 2 before and the rest after."""
    if image.shape[0] == resolution and image.shape[1] == resolution:
        return image
    image, new_h, new_w = _resize(image, tf.maximum, 1, resolution, resolution)
    image = tf.clip_by_value(image, -1.0, 1.0)

    def edge_indices(size):  # output position -> source row/column, clamped to the edge
        start = (resolution - size) // 2
        return tf.clip_by_value(tf.range(resolution) - start, 0, size - 1)

    image = tf.gather(image, edge_indices(new_h), axis=0)
    return tf.gather(image, edge_indices(new_w), axis=1)


def to_unit_range(image, value_range):
    """Casts an image tensor to float32 in [-1, 1] given the range of its values."""
    lo, hi = value_range
    image = tf.cast(image, tf.float32)
    if (lo, hi) == (-1, 1):
        return image
    half = (hi - lo) / 2.0
    return image / half - (lo / half + 1.0)


#: ITU-R BT.601 luma weights (they sum to 1: grey images tiled to RGB come back).
LUMA = (0.299, 0.587, 0.114)


def to_channels(image, channels):
    """[H, W, C] -> [H, W, channels]: 3 as `to_rgb`; 1 as grey (a 1- or 2-channel image's
    first channel, else the BT.601 luma of R, G, B); any other count needs C = channels
    (multispectral bands are not invented or dropped)."""
    c = image.shape[-1]
    if channels == 3:
        return to_rgb(image)
    if channels == 1:
        if c in (1, 2):
            return image[..., :1]
        return tf.reduce_sum(image[..., :3] * tf.constant(LUMA, image.dtype), -1, keepdims=True)
    if c != channels:
        raise ValueError(f"`image_channels={channels}` needs images of {channels} channels. "
                         f"Received images of {c} channels; pass image_channels={c} (or "
                         "1 or 3 to convert them to grey or RGB).")
    return image


def to_rgb(image):
    """[H, W, C] with static C in {1, 3, 4} -> [H, W, 3] (gray repeated, alpha dropped)."""
    channels = image.shape[-1]
    if channels == 1:
        return tf.tile(image, [1, 1, 3])
    if channels == 2:  # gray + alpha
        return tf.tile(image[..., :1], [1, 1, 3])
    if channels == 4:
        return image[..., :3]
    return image

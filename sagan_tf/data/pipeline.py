"""The batched pipeline every source feeds, and the image conversions the sources share.

A source module describes its data as a `_Source` (made with `index_source` or
`streamed_source`): a dataset of raw elements and how to turn one into an example.
`build_pipeline` shuffles, repeats, turns elements into examples and resizes them
(`resize_center_crop`), flips, batches and prefetches.
"""

import dataclasses

import tensorflow as tf


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


def index_source(num_examples, to_example):
    """A source over the indices `0 .. num_examples - 1` (in-memory arrays, file lists).

    The shuffle permutes the whole index list every epoch, and a distribution strategy
    shards the indices between workers (there are no files to shard).
    """
    def shuffle_fn(ds, seed):
        return ds.shuffle(num_examples, seed=seed, reshuffle_each_iteration=True)

    return _Source(dataset=tf.data.Dataset.range(num_examples), num_examples=num_examples,
                   shuffle_fn=shuffle_fn, to_example=to_example)


def streamed_source(dataset, num_examples, shuffle_fn, to_example):
    """A source over a dataset read from files (TFDS), sharded by tf.data's default policy."""
    return _Source(dataset=dataset, num_examples=num_examples, shuffle_fn=shuffle_fn,
                   to_example=to_example, auto_shard_by_data=False)


def build_pipeline(src, *, resolution, global_batch_size, shuffle, seed, random_flip,
                   drop_remainder, repeat):
    """shuffle -> repeat -> to_example, resize (parallel) -> flip -> batch -> prefetch."""
    ds = src.dataset
    if shuffle:
        ds = src.shuffle_fn(ds, seed)
    if repeat:
        ds = ds.repeat()

    def to_model_input(*element):
        image, label = src.to_example(*element)
        image = resize_center_crop(image, resolution)
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


def resize_center_crop(image, resolution):
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


def to_unit_range(image, value_range):
    """Casts an image tensor to float32 in [-1, 1] given the range of its values."""
    lo, hi = value_range
    image = tf.cast(image, tf.float32)
    if (lo, hi) == (-1, 1):
        return image
    half = (hi - lo) / 2.0
    return image / half - (lo / half + 1.0)


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

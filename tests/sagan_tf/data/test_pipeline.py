"""Tests of sagan_tf.data.pipeline: resize and center-crop against PIL, shuffling, flips,
batching and distribution."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from sagan_tf import compat, data
from sagan_tf.data import pipeline


def test_non_square_arrays_are_resized_and_center_cropped_like_pil(helpers):
    rng = np.random.RandomState(2)
    images = rng.randint(0, 256, (3, 20, 30, 3), dtype=np.uint8)
    # Shorter side already 20: no resize, the middle 20 of 30 columns are kept.
    x, _ = helpers.collect(helpers.load_all((images, np.arange(3)), 20)[0])
    np.testing.assert_allclose(x, images[:, :, 5:25] / 127.5 - 1.0, atol=1e-6)
    # Down to 8: 20x30 -> 8x12 (antialiased bilinear), then columns 2..10.
    x, _ = helpers.collect(helpers.load_all((images, np.arange(3)), 8)[0])
    for i in range(3):
        np.testing.assert_allclose(x[i], helpers.pil_resize_crop(images[i] / 127.5 - 1.0, 8),
                                   atol=1e-5)
    # Portrait: the middle rows are kept.
    portrait = np.ascontiguousarray(images.transpose(0, 2, 1, 3))  # [3, 30, 20, 3]
    x, _ = helpers.collect(helpers.load_all((portrait, np.arange(3)), 20)[0])
    np.testing.assert_allclose(x, portrait[:, 5:25] / 127.5 - 1.0, atol=1e-6)


def _pil_resize(unit, height, width):
    """[H, W, C] in [-1, 1] resized by PIL's (antialiased) bilinear filter per channel."""
    return np.stack([np.asarray(Image.fromarray(unit[..., c].astype(np.float32), mode="F")
                                .resize((width, height), Image.BILINEAR))
                     for c in range(unit.shape[-1])], -1)


def test_crop_none_keeps_every_pixel_and_pads_with_the_edge(helpers):
    """A 6x3 image of known values: crop="none" keeps all of it (longer side 6) and
    repeats its first and last columns; "center" keeps rows 1..3 at resolution 3."""
    tall = np.arange(6 * 3 * 3, dtype=np.uint8).reshape(1, 6, 3, 3) * 4
    unit = tall[0] / 127.5 - 1.0
    x, _ = helpers.collect(helpers.load_all(tall, 6, crop="none")[0])
    # (6 - 3) // 2 = 1 column before, 2 after: [c0, c0, c1, c2, c2, c2].
    np.testing.assert_allclose(x[0], unit[:, [0, 0, 1, 2, 2, 2]], atol=1e-6)
    np.testing.assert_allclose(x[0], np.pad(unit, ((0, 0), (1, 2), (0, 0)), mode="edge"),
                               atol=1e-6)
    x, _ = helpers.collect(helpers.load_all(tall, 3, crop="center")[0])
    np.testing.assert_allclose(x[0], unit[1:4], atol=1e-6)
    # Down to 4: 6x3 -> 4x2 (PIL's antialiased bilinear), one column padded each side.
    x, _ = helpers.collect(helpers.load_all(tall, 4, crop="none")[0])
    np.testing.assert_allclose(
        x[0], np.pad(_pil_resize(unit, 4, 2), ((0, 0), (1, 1), (0, 0)), mode="edge"),
        atol=1e-5)
    # Landscape: rows are padded, [r0, r0, r1, r2, r2, r2].
    wide = np.ascontiguousarray(tall.transpose(0, 2, 1, 3))
    x, _ = helpers.collect(helpers.load_all(wide, 6, crop="none")[0])
    np.testing.assert_allclose(x[0], wide[0][[0, 0, 1, 2, 2, 2]] / 127.5 - 1.0, atol=1e-6)


def test_resize_to_square_with_unknown_shapes_as_decoded_files_have():
    rng = np.random.RandomState(4)
    image = rng.uniform(-1, 1, (9, 4, 2)).astype(np.float32)
    for crop in pipeline.CROPS:
        traced = tf.function(lambda t, crop=crop: pipeline.resize_to_square(t, 6, crop),
                             input_signature=[tf.TensorSpec([None, None, 2])])
        out = traced(image).numpy()
        assert out.shape == (6, 6, 2)
        if crop == "none":  # 9x4 -> 6x3 (round(2.67)), 1 column before, 2 after
            expected = np.pad(_pil_resize(image, 6, 3), ((0, 0), (1, 2), (0, 0)), "edge")
        else:  # 9x4 -> 14x6 (round(13.5) is 14), rows 4..9
            expected = _pil_resize(image, 14, 6)[4:10]
        np.testing.assert_allclose(out, np.clip(expected, -1, 1), atol=1e-5)


def test_square_images_are_the_same_for_every_crop(helpers):
    images = np.random.RandomState(6).randint(0, 256, (3, 10, 10, 3), dtype=np.uint8)
    for resolution in (4, 10, 16):
        outs = [helpers.collect(helpers.load_all(images, resolution, crop=crop)[0])[0]
                for crop in pipeline.CROPS]
        for out in outs[1:]:
            np.testing.assert_array_equal(out, outs[0])
    with pytest.raises(ValueError, match=r"`crop` must be one of \['center', 'none'\]. "
                                         r"Received: crop='pad'"):
        data.load_dataset(images, resolution=4, global_batch_size=1, crop="pad")


def test_shuffle_is_seeded_and_reshuffles_each_epoch():
    def first_labels(seed, n_batches=3):
        ds, _ = data.load_dataset("digits", resolution=8, global_batch_size=100, seed=seed)
        return np.concatenate([y.numpy() for _, y in ds.take(n_batches)])

    a, b, c = first_labels(3), first_labels(3), first_labels(4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, data.digits_arrays("train")[1][:300])

    # With repeat, each epoch is a permutation of all examples, in a new order.
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1)
    ds, _ = data.load_dataset((images, np.arange(10)), resolution=1, global_batch_size=10,
                              seed=0)
    epochs = [y.numpy() for _, y in ds.take(3)]
    for e in epochs:
        assert sorted(e.tolist()) == list(range(10))
    assert not (np.array_equal(epochs[0], epochs[1]) and np.array_equal(epochs[1], epochs[2]))


def test_random_flip_flips_some_images_left_right(helpers):
    rng = np.random.RandomState(3)
    images = rng.randint(0, 256, (40, 5, 5, 3), dtype=np.uint8)
    expected = images / 127.5 - 1.0
    ds, _ = helpers.load_all((images, np.arange(40)), 5, random_flip=True, seed=7)
    x, y = helpers.collect(ds)
    np.testing.assert_array_equal(y, np.arange(40))
    flipped = []
    for i in range(40):
        if np.allclose(x[i], expected[i], atol=1e-6):
            flipped.append(False)
        else:
            np.testing.assert_allclose(x[i], np.flip(expected[i], axis=1), atol=1e-6)
            flipped.append(True)
    assert 5 < sum(flipped) < 35
    ds, _ = helpers.load_all((images, np.arange(40)), 5, random_flip=True, seed=7)
    x2, _ = helpers.collect(ds)
    np.testing.assert_array_equal(x, x2)


def test_drop_remainder_and_batch_shapes():
    images = np.zeros((10, 3, 3), np.uint8)
    labels = np.arange(10) % 2
    ds, info = data.load_dataset((images, labels), resolution=4, global_batch_size=4,
                                 shuffle=False, repeat=False)
    assert ds.element_spec[0].shape == (4, 4, 4, 3)
    assert ds.element_spec[1].shape == (4,)
    assert [x.shape[0] for x, _ in ds] == [4, 4]
    assert info.num_examples == 10
    ds, _ = data.load_dataset((images, labels), resolution=4, global_batch_size=4,
                              shuffle=False, repeat=False, drop_remainder=False)
    assert [x.shape[0] for x, _ in ds] == [4, 4, 2]
    # Repeated: batches cross epoch boundaries, always full.
    ds, _ = data.load_dataset((images, labels), resolution=4, global_batch_size=4)
    assert [x.shape[0] for x, _ in ds.take(5)] == [4] * 5


def test_distributes_over_two_replicas():
    strategy = compat.mirrored_strategy(["/cpu:0", "/cpu:1"])
    ds, _ = data.load_dataset("digits", resolution=8, global_batch_size=8, seed=0)
    dist = strategy.experimental_distribute_dataset(ds)
    x, y = next(iter(dist))
    per_replica = strategy.experimental_local_results(x)
    assert len(per_replica) == 2
    assert [t.shape for t in per_replica] == [(4, 8, 8, 3), (4, 8, 8, 3)]


def _labels(ds, n_batches):
    return np.stack([y.numpy() for _, y in ds.take(n_batches)])


def test_resume_computes_the_uninterrupted_batches_across_epochs():
    """Batches of 4 from 10 examples cross epoch boundaries inside a batch; the
    resumed stream (images with their flips, labels) is the uninterrupted one."""
    rng = np.random.RandomState(5)
    images = rng.randint(0, 256, (10, 3, 3, 3), dtype=np.uint8)
    ds, _ = data.load_dataset((images, np.arange(10)), resolution=3, global_batch_size=4,
                              seed=9, random_flip=True)
    full = [(x.numpy(), y.numpy()) for x, y in ds.take(9)]
    for start in (1, 2, 5):
        resumed = [(x.numpy(), y.numpy())
                   for x, y in data.resume_dataset(ds, start).take(9 - start)]
        for (x, y), (x_ref, y_ref) in zip(resumed, full[start:]):
            np.testing.assert_array_equal(y, y_ref)
            np.testing.assert_array_equal(x, x_ref)
    # Every epoch (10 consecutive positions) is a permutation of all examples.
    stream = np.concatenate([y for _, y in full])
    for e in range(3):
        assert sorted(stream[10 * e:10 * (e + 1)].tolist()) == list(range(10))
    assert data.resume_dataset(ds, 0) is ds
    assert (data.resume_dataset(ds, 3).options().experimental_distribute.auto_shard_policy
            == tf.data.experimental.AutoShardPolicy.DATA)


def test_resume_far_into_a_run_reads_nothing_before_it():
    """Batch 10**12 of a 10-example source (epoch 10**12 with batches of 10): reaching it
    by replaying the stream would take hours; it is there at once, still a permutation,
    in an order of its own."""
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1)
    ds, _ = data.load_dataset((images, np.arange(10)), resolution=1, global_batch_size=10,
                              seed=2)
    far = _labels(data.resume_dataset(ds, 10**12), 3)
    for epoch in far:
        assert sorted(epoch.tolist()) == list(range(10))
    assert len({tuple(e) for e in far}) == 3
    # The flips too are keyed on the position, not drawn from a stream.
    flips, _ = data.load_dataset((images, np.arange(10)), resolution=1,
                                 global_batch_size=10, seed=2, random_flip=True)
    np.testing.assert_array_equal(_labels(data.resume_dataset(flips, 10**12), 3), far)


def test_resume_of_one_epoch_and_of_other_datasets():
    images = np.zeros((10, 2, 2), np.uint8)
    ds, _ = data.load_dataset((images, np.arange(10)), resolution=2, global_batch_size=4,
                              shuffle=False, repeat=False, drop_remainder=False)
    assert [y.numpy().tolist() for _, y in data.resume_dataset(ds, 2)] == [[8, 9]]
    assert list(data.resume_dataset(ds, 3)) == []
    with pytest.raises(ValueError, match="returned by `load_dataset`"):
        data.resume_dataset(ds.map(lambda x, y: (x, y)), 1)
    with pytest.raises(ValueError, match="start_batch=-1"):
        data.resume_dataset(ds, -1)

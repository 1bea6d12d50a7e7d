"""Tests of sagan_tf.data.arrays: NumPy sources scaled as NumPy scales them, and their checks."""

import numpy as np
import pytest

from sagan_tf import data


def test_uint8_gray_and_rgba_arrays_are_scaled_to_unit_range(helpers):
    rng = np.random.RandomState(0)
    gray = rng.randint(0, 256, (6, 5, 5), dtype=np.uint8)
    gray[0, 0, 0], gray[0, 0, 1] = 0, 255
    labels = np.array([0, 1, 2, 0, 1, 2])
    x, y = helpers.collect(helpers.load_all((gray, labels), 5)[0])
    expected = gray.astype(np.float64) / 127.5 - 1.0
    for c in range(3):
        np.testing.assert_allclose(x[..., c], expected, atol=1e-6)
    assert x[0, 0, 0, 0] == -1.0 and x[0, 0, 1, 0] == 1.0
    np.testing.assert_array_equal(y, labels)

    rgba = rng.randint(0, 256, (6, 5, 5, 4), dtype=np.uint8)
    x, _ = helpers.collect(helpers.load_all(rgba, 5, labels=labels)[0])
    np.testing.assert_allclose(x, rgba[..., :3] / 127.5 - 1.0, atol=1e-6)


@pytest.mark.parametrize("value_range", [(0, 1), (-1, 1)])
def test_float_arrays_with_value_range(value_range, helpers):
    rng = np.random.RandomState(1)
    lo, hi = value_range
    images = rng.uniform(lo, hi, (4, 6, 6, 3)).astype(np.float64)
    x, _ = helpers.collect(helpers.load_all((images, np.zeros(4, np.int64)), 6,
                              value_range=value_range)[0])
    expected = images * 2 - 1 if value_range == (0, 1) else images
    np.testing.assert_allclose(x, expected, atol=1e-6)


def test_array_label_checks():
    images = np.zeros((5, 4, 4), np.uint8)
    with pytest.raises(ValueError, match=r"Label 7 \(at index 2\) is out of range \[0, 3\)"):
        data.load_dataset((images, np.array([0, 1, 7, 2, 0])), resolution=4,
                          global_batch_size=2, num_classes=3)
    with pytest.raises(ValueError, match="Label -1"):
        data.load_dataset((images, np.array([0, 1, -1, 2, 0])), resolution=4,
                          global_batch_size=2, num_classes=3)
    with pytest.raises(ValueError, match="non-negative. Received a label -2"):
        data.load_dataset((images, np.array([0, -2, 1, 2, 0])), resolution=4,
                          global_batch_size=2)
    with pytest.raises(ValueError, match=r"shape \[N\] = \[5\]"):
        data.load_dataset((images, np.array([0, 1])), resolution=4, global_batch_size=2)
    with pytest.raises(ValueError, match="integers"):
        data.load_dataset((images, np.zeros(5, np.float32)), resolution=4,
                          global_batch_size=2)
    with pytest.raises(ValueError, match="`num_classes` needs labels"):
        data.load_dataset(images, resolution=4, global_batch_size=2, num_classes=3)
    # num_classes defaults to max label + 1, and may exceed it.
    _, info = data.load_dataset((images, np.array([0, 1, 4, 2, 0])), resolution=4,
                                global_batch_size=2)
    assert info.num_classes == 5 and info.class_names == ("0", "1", "2", "3", "4")
    _, info = data.load_dataset((images, np.array([0, 1, 4, 2, 0])), resolution=4,
                                global_batch_size=2, num_classes=12)
    assert info.num_classes == 12


def test_arrays_without_labels_are_unconditional(helpers):
    images = np.arange(5 * 4 * 4, dtype=np.uint8).reshape(5, 4, 4)
    for source, kwargs in ((images, {}), ((images, None), {}),
                           ((images, np.array([0, 3, 1, 2, 0])), {"unconditional": True})):
        ds, info = helpers.load_all(source, 4, **kwargs)
        assert info.num_classes is None and info.class_names == ()
        x, y = helpers.collect(ds)
        np.testing.assert_array_equal(y, np.zeros(5))
        np.testing.assert_allclose(x, np.repeat(images[..., None], 3, -1) / 127.5 - 1,
                                   atol=1e-6)


def test_array_image_checks():
    labels = np.zeros(3, np.int64)
    with pytest.raises(ValueError, match="rank 2"):
        data.load_dataset((np.zeros((3, 4), np.uint8), labels), resolution=4,
                          global_batch_size=1)
    with pytest.raises(ValueError, match="rank 5"):
        data.load_dataset((np.zeros((3, 4, 4, 3, 1), np.uint8), labels), resolution=4,
                          global_batch_size=1)
    with pytest.raises(ValueError, match="channels"):
        data.load_dataset((np.zeros((3, 4, 4, 2), np.uint8), labels), resolution=4,
                          global_batch_size=1)
    with pytest.raises(ValueError, match="value_range"):
        data.load_dataset((np.zeros((3, 4, 4), np.float32), labels), resolution=4,
                          global_batch_size=1)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        data.load_dataset((np.full((3, 4, 4), 2.0), labels), resolution=4,
                          global_batch_size=1, value_range=(0, 1))
    with pytest.raises(ValueError, match="dtype int64"):
        data.load_dataset((np.zeros((3, 4, 4), np.int64), labels), resolution=4,
                          global_batch_size=1)
    with pytest.raises(ValueError, match="split='test'"):
        data.load_dataset((np.zeros((3, 4, 4), np.uint8), labels), resolution=4,
                          global_batch_size=1, split="test")

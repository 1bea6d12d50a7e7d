"""Tests of sagan_tf.data.digits: the built-in digits against scikit-learn's own copy and a
NumPy bilinear interpolation."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from sagan_tf import data


def test_digits_values_labels_and_info_at_native_resolution(helpers):
    digits = load_digits()
    ds, info = helpers.load_all("digits", 8, split="all", global_batch_size=500)
    x, y = helpers.collect(ds)
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.shape == (1797, 8, 8, 3)
    expected = digits.images.astype(np.float32) * (2.0 / 16.0) - 1.0  # 0 -> -1, 16 -> 1
    for c in range(3):
        np.testing.assert_allclose(x[..., c], expected, atol=1e-6)
    np.testing.assert_array_equal(y, digits.target)
    assert x.min() == -1.0 and x.max() == 1.0
    assert info == data.DatasetInfo(num_classes=10, num_examples=1797,
                                    class_names=tuple("0123456789"),
                                    image_shape=(8, 8, 3), num_skipped=0)


def test_digits_resized_bilinear_matches_numpy_interpolation(helpers):
    digits = load_digits()
    ds, info = helpers.load_all("digits", 24, split="all", global_batch_size=16)
    x, y = next(iter(ds))
    x = x.numpy()
    assert x.shape == (16, 24, 24, 3) and info.image_shape == (24, 24, 3)
    for i in range(16):
        ref = helpers.np_bilinear_upsample(digits.images[i] / 8.0 - 1.0, 24)
        for c in range(3):
            np.testing.assert_allclose(x[i, ..., c], ref, atol=1e-5)
    assert x.min() >= -1.0 and x.max() <= 1.0
    np.testing.assert_array_equal(y.numpy(), digits.target[:16])


def test_digits_train_test_split_is_a_fixed_stratified_partition(helpers):
    digits = load_digits()
    tr_x, tr_y = data.digits_arrays("train")
    te_x, te_y = data.digits_arrays("test")
    assert len(tr_y) + len(te_y) == 1797
    # Each split is a set of rows of the full data; together they are all of it (as a
    # multiset: the digits contain a few duplicate images, so compare sorted rows).
    all_rows = sorted(zip(digits.target.tolist(), (digits.images / 8.0 - 1.0)
                          .astype(np.float32).round(4).reshape(1797, -1).tolist()))
    split_rows = sorted(zip(np.concatenate([tr_y, te_y]).tolist(),
                            np.concatenate([tr_x, te_x])[..., 0].round(4)
                            .reshape(1797, -1).tolist()))
    assert all_rows == split_rows
    # About 20% of every class is held out.
    for c in range(10):
        n_c = int((digits.target == c).sum())
        assert int((te_y == c).sum()) == round(0.2 * n_c)
    # Fixed: the same split every time, and load_dataset yields exactly these examples.
    np.testing.assert_array_equal(data.digits_arrays("test")[1], te_y)
    ds, info = helpers.load_all("digits", 8, split="test")
    x, y = helpers.collect(ds)
    assert info.num_examples == len(te_y)
    np.testing.assert_array_equal(y, te_y)
    np.testing.assert_allclose(x, te_x, atol=1e-6)
    _, info_train = helpers.load_all("digits", 8, split="train")
    assert info_train.num_examples == len(tr_y)


def test_digits_arrays_resize_matches_pipeline(helpers):
    x_arr, y_arr = data.digits_arrays("test", resolution=16)
    x, y = helpers.collect(helpers.load_all("digits", 16, split="test", global_batch_size=64)[0])
    np.testing.assert_allclose(x, x_arr, atol=1e-6)
    np.testing.assert_array_equal(y, y_arr)


def test_digits_rejects_unknown_split_and_wrong_num_classes():
    with pytest.raises(ValueError, match="split='validation'"):
        data.load_dataset("digits", resolution=8, global_batch_size=4, split="validation")
    with pytest.raises(ValueError, match="num_classes"):
        data.load_dataset("digits", resolution=8, global_batch_size=4, num_classes=5)


def _rows(x, y):
    return sorted(zip(y.tolist(), x[..., 0].round(4).reshape(len(y), -1).tolist()))


def test_train_fraction_is_a_fixed_class_stratified_part_of_the_training_split(helpers):
    tr_x, tr_y = data.digits_arrays("train")
    sub_x, sub_y = data.digits_arrays("train", train_fraction=0.1)
    for c in range(10):  # round(10%) of every class of the training split
        assert int((sub_y == c).sum()) == round(0.1 * int((tr_y == c).sum()))
    train_rows = _rows(tr_x, tr_y)
    assert all(row in train_rows for row in _rows(sub_x, sub_y))  # a subset of train
    again_x, _ = data.digits_arrays("train", train_fraction=0.1)
    np.testing.assert_array_equal(again_x, sub_x)  # fixed
    ds, info = helpers.load_all("digits", 8, split="train", global_batch_size=16,
                                train_fraction=0.1)
    x, y = helpers.collect(ds)
    assert info.num_examples == len(sub_y) == 143
    assert _rows(x, y) == _rows(sub_x, sub_y)
    # The held-out split is the same with or without a fraction of the training split.
    np.testing.assert_array_equal(data.digits_arrays("test")[1],
                                  data.digits_arrays("test", train_fraction=1.0)[1])
    assert len(data.digits_arrays("train", train_fraction=0.001)[1]) == 10  # >= 1 per class


@pytest.mark.parametrize("fraction, split, match", [
    (0.0, "train", r"`train_fraction` must be a number in \(0, 1\]"),
    (1.5, "train", r"Received: train_fraction=1.5"),
    (0.5, "test", r"applies to split='train' only"),
])
def test_train_fraction_outside_its_range_or_split_is_refused(fraction, split, match):
    with pytest.raises(ValueError, match=match):
        data.digits_arrays(split, train_fraction=fraction)

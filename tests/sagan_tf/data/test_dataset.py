"""Tests of sagan_tf.data.dataset: how load_dataset dispatches a source."""

import os

import numpy as np
import pytest

from sagan_tf import data


def test_source_type_error():
    with pytest.raises(TypeError, match="`source` must be"):
        data.load_dataset(3, resolution=4, global_batch_size=2)


def test_path_like_strings_are_folders_and_labels_come_once(tmp_path, monkeypatch):
    # "./digits" is a folder named digits, not the built-in digits.
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError, match="'./digits' does not exist"):
        data.load_dataset("./digits", resolution=4, global_batch_size=1)
    # "~" is expanded for local paths.
    monkeypatch.setenv("HOME", str(tmp_path))
    with pytest.raises(ValueError, match=f"{os.path.join(str(tmp_path), 'nope')!r} does"):
        data.load_dataset("~/nope", resolution=4, global_batch_size=1)
    images = np.zeros((2, 4, 4), np.uint8)
    with pytest.raises(ValueError, match="not both"):
        data.load_dataset((images, np.zeros(2, np.int64)), labels=np.zeros(2, np.int64),
                          resolution=4, global_batch_size=1)
    with pytest.raises(ValueError, match="pair"):
        data.load_dataset((images,), resolution=4, global_batch_size=1)


def test_unconditional_digits_have_no_classes_and_labels_0(helpers):
    ds, info = helpers.load_all("digits", 8, split="test", unconditional=True)
    assert info.num_classes is None and info.class_names == () and info.unconditional
    x, y = helpers.collect(ds)
    assert len(y) == info.num_examples and not y.any()
    np.testing.assert_array_equal(x, helpers.collect(helpers.load_all("digits", 8,
                                                                      split="test")[0])[0])

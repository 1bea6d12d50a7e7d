"""Tests of sagan_tf.data.dataset_info: DatasetInfo is an immutable record."""

import dataclasses

import pytest

from sagan_tf import data


def test_dataset_info_is_frozen_and_counts_no_skipped_files_by_default():
    info = data.DatasetInfo(num_classes=2, num_examples=5, class_names=("a", "b"),
                            image_shape=(4, 4, 3))
    assert info.num_skipped == 0
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.num_classes = 3

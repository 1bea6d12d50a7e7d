"""Tests of sagan_tf.data.checks: the argument errors of load_dataset, in Keras style."""

import numpy as np
import pytest

from sagan_tf import data


@pytest.mark.parametrize("kwargs, message", [
    (dict(global_batch_size=0), "`global_batch_size` must be a positive int. Received: "
                                "global_batch_size=0"),
    (dict(resolution=0), "`resolution` must be a positive int. Received: resolution=0"),
    (dict(resolution=2.5), "`resolution` must be a positive int. Received: resolution=2.5"),
    (dict(resolution=True), "`resolution` must be a positive int"),
    (dict(on_corrupt="ignore"), "`on_corrupt` must be"),
    (dict(global_batch_size=6), r"`global_batch_size` \(6\) is larger than the number of "
                                r"examples \(5\)"),
])
def test_argument_errors(kwargs, message):
    args = dict(resolution=4, global_batch_size=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        data.load_dataset((np.zeros((5, 4, 4), np.uint8), np.zeros(5, np.int64)), **args)


@pytest.mark.parametrize("kwargs, message", [
    (dict(labels=np.zeros(3, np.int64)), "`labels` is only used when `source` is an images"),
    (dict(value_range=(0, 1)), "`value_range` is only used when `source` is NumPy arrays"),
    (dict(image_key="image"), "`image_key` and `label_key` are only used for TFDS"),
    (dict(split=1), "`split` must be a string. Received: split=1"),
    (dict(seed=1.5), "`seed` must be an int. Received: seed=1.5"),
    (dict(num_classes=0), "`num_classes` must be a positive int. Received: num_classes=0"),
])
def test_arguments_another_source_uses_and_argument_types(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.load_dataset("digits", resolution=8, global_batch_size=4, **kwargs)

"""Float labels are refused by `SAGAN.fit` before any step (Keras would cast 3.7 to
class 3); a repeated DiffAugment policy is refused, another order is warned about."""

import logging

import numpy as np
import pytest
import tensorflow as tf

import sagan_tf
from sagan_tf import diff_augment
from sagan_tf.fit_label_checks import check_fit_labels
from sagan_tf.sagan import SAGAN


def test_fit_refuses_float_labels_and_trains_nothing():
    g = sagan_tf.build_generator("sagan32", 3, channels=[8, 8, 8], latent_dim=8)
    d = sagan_tf.build_discriminator("sagan32", 3, channels=[8, 8, 8, 8])
    model = SAGAN(g, d)
    model.compile()
    before = [w.copy() for w in model.get_weights()]
    images = np.zeros((4, 32, 32, 3), np.float32)
    labels = np.array([0.0, 3.7, 1.0, 2.0], np.float32)
    data = tf.data.Dataset.from_tensors((images, labels))
    with pytest.raises(ValueError, match=r"`labels` must be integer class ids \(int32 or "
                                         r"int64\). Received: labels of dtype float32"):
        model.fit(data, verbose=0)
    assert int(model.g_optimizer.iterations) == 0
    for a, b in zip(before, model.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("labels,ok", [
    (np.array([1, 2], np.int32), True), (np.array([1, 2], np.int64), True),
    (np.array([1.0, 2.0], np.float64), False), (np.array([True, False]), False)])
def test_label_dtypes(labels, ok):
    images = np.zeros((2, 4))
    for x, y in (((images, labels), None), (tf.data.Dataset.from_tensors((images, labels)),
                                            None), (images, labels)):
        if ok:
            check_fit_labels(x, y)
        else:
            with pytest.raises(ValueError, match="must be integer class ids"):
                check_fit_labels(x, y)


def test_a_repeated_diffaugment_policy_is_refused_and_another_order_warned(caplog):
    with pytest.raises(ValueError, match=r"`diffaugment` must name each policy once. "
                                         r"Received: diffaugment='color,color' "
                                         r"\(repeated: \['color'\]\)"):
        diff_augment.parse_policy("color,color")
    names = list(diff_augment.POLICIES)
    with caplog.at_level(logging.WARNING):
        assert diff_augment.parse_policy(",".join(reversed(names))) == tuple(names)
    assert "applies its policies in the order" in caplog.text

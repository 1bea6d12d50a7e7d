"""Fixtures shared by the metrics tests: a tiny classifier and the digits data."""

import keras
import numpy as np
import pytest
import sklearn.datasets
import tensorflow as tf

from sagan_tf.metrics import classifiers


@pytest.fixture(scope="session")
def tiny_classifier():
    """An untrained 3-class Keras CNN at 8x8 with 6 features, as a Classifier."""
    keras.utils.set_random_seed(1)
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Conv2D(12, 3, activation="tanh"),
        keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(6, activation="tanh", name="features"),
        keras.layers.Dense(3, name="logits"),
    ], name="tiny")
    return classifiers.keras_classifier(model)


@pytest.fixture(scope="session")
def digits():
    """scikit-learn's 8x8 digits as 32x32x3 float32 images in [-1, 1], and labels.

    Loaded directly (not through sagan_tf.data) so these tests depend only on the
    metrics package.
    """
    data = sklearn.datasets.load_digits()
    images = data.images.astype(np.float32) / 16.0 * 2.0 - 1.0
    images = tf.image.resize(images[..., None], (32, 32), method="bilinear")
    images = np.repeat(np.clip(images.numpy(), -1.0, 1.0), 3, axis=-1)
    return images, data.target.astype(np.int32)

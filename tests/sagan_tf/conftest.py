"""Fixtures shared by the library's tests (metrics and evaluation)."""

import keras
import pytest

from sagan_tf.metrics import classifier_loaders


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
    return classifier_loaders.keras_classifier(model)

"""Fixtures shared by the metrics tests: tiny classifiers, a stand-in for TF-GAN's
Inception module, and the digits data."""

import keras
import numpy as np
import pytest
import sklearn.datasets
import tensorflow as tf


class FakeInceptionModule(tf.Module):
    """Same call, input and output names as TF-GAN's Inception TF-Hub module."""

    def __init__(self, num_classes=7, num_features=5):
        super().__init__()
        rng = np.random.default_rng(0)
        self.conv = tf.Variable(rng.normal(size=(3, 3, 3, num_features)), dtype=tf.float32)
        self.dense = tf.Variable(rng.normal(size=(num_features, num_classes)),
                                 dtype=tf.float32)

    @tf.function(input_signature=[tf.TensorSpec(shape=None, dtype=tf.float32)])
    def __call__(self, x):
        features = tf.nn.relu(tf.nn.conv2d(x, self.conv, strides=2, padding="SAME"))
        pool_3 = tf.reduce_mean(features, axis=[1, 2], keepdims=True)  # [B,1,1,D]
        logits = tf.reshape(pool_3, [tf.shape(x)[0], -1]) @ self.dense
        return {"logits": logits, "pool_3": pool_3}


@pytest.fixture(scope="session")
def fake_inception_dir(tmp_path_factory):
    """A `FakeInceptionModule` saved as a SavedModel (as an untarred TF-Hub module)."""
    path = str(tmp_path_factory.mktemp("fake_inception") / "module")
    tf.saved_model.save(FakeInceptionModule(), path)
    return path


@pytest.fixture(scope="session")
def tiny_keras_path(tmp_path_factory):
    """An untrained 3-class Keras CNN at 8x8 with a 6-unit "features" layer, as .keras."""
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 3)),
        keras.layers.Conv2D(4, 3, activation="relu", name="conv"),
        keras.layers.GlobalAveragePooling2D(name="pool"),
        keras.layers.Dense(6, activation="relu", name="features"),
        keras.layers.Dense(3, name="logits"),
    ], name="tiny_cnn")
    path = str(tmp_path_factory.mktemp("keras") / "tiny.keras")
    model.save(path)
    return path


@pytest.fixture(scope="session")
def random_images():
    """`random_images(n, size, seed=0)`: float32 `[n, size, size, 3]` uniform in [-1, 1]."""
    def make(n, size, seed=0):
        rng = np.random.default_rng(seed)
        return rng.uniform(-1, 1, size=(n, size, size, 3)).astype(np.float32)
    return make


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

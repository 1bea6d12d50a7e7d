"""Tests of sagan_tf.metrics.classifier: the Classifier's image conversion, resizing and
output shapes, against NumPy."""

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.metrics import classifier_loaders
from sagan_tf.metrics.classifier import Classifier


def test_image_conversion(tiny_keras_path):
    classifier = classifier_loaders.load_classifier(tiny_keras_path)
    rng = np.random.default_rng(3)
    gray = rng.uniform(-1, 1, size=(2, 8, 8, 1)).astype(np.float32)
    np.testing.assert_allclose(classifier(gray)[0],
                               classifier(np.repeat(gray, 3, axis=-1))[0], rtol=1e-6)
    pixels = rng.integers(0, 256, size=(2, 8, 8, 3)).astype(np.uint8)
    np.testing.assert_allclose(classifier(pixels)[0],
                               classifier(pixels / 127.5 - 1.0)[0], rtol=1e-5,
                               atol=1e-6)
    with pytest.raises(ValueError, match=r"`images` must be a 4D batch"):
        classifier(np.zeros((8, 8, 3), np.float32))
    with pytest.raises(ValueError, match="expects 3-channel"):
        classifier(np.zeros((1, 8, 8, 2), np.float32))
    # Multispectral images: refused, naming the domain classifier.
    with pytest.raises(ValueError, match=r"expects 3-channel.*4-band \(multispectral\) "
                       r"images need a classifier of their domain: `--classifier=domain`"):
        classifier(np.zeros((1, 8, 8, 4), np.float32))


def test_outputs_are_flattened_resized_and_sizes_probed():
    def fn(images):  # logits: channel means [B, 1, 3]; activations: the pixels
        return tf.reduce_mean(images, axis=[1, 2])[:, None, :], images

    classifier = Classifier(fn, input_size=4, name="means")
    assert classifier.input_size == (4, 4)
    assert (classifier.num_classes, classifier.num_features) == (3, 48)
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, size=(2, 4, 4, 3)).astype(np.float32)
    logits, activations = classifier.logits_and_activations(images)
    assert logits.dtype == tf.float32 and activations.dtype == tf.float32
    np.testing.assert_allclose(logits, images.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(activations, images.reshape(2, -1))
    # Halving with bilinear (half-pixel centers) interpolation averages 2x2 blocks.
    big = rng.uniform(-1, 1, size=(2, 8, 8, 3)).astype(np.float32)
    blocks = big.reshape(2, 4, 2, 4, 2, 3).mean(axis=(2, 4))
    np.testing.assert_allclose(classifier(big)[1], blocks.reshape(2, -1), rtol=1e-5,
                               atol=1e-6)

    with pytest.raises(ValueError, match=r"`input_size` must be a positive int or "
                       r"\(height, width\). Received: input_size=\(0, 4\)"):
        Classifier(fn, input_size=(0, 4), name="bad")
    with pytest.raises(ValueError, match=r"`images` must be float in \[-1, 1\] or uint8. "
                       "Received: dtype=int32"):
        classifier(np.zeros((1, 4, 4, 3), np.int32))


def test_weights_hash_is_sha256_of_the_weights_and_follows_them(tiny_keras_path,
                                                                fake_inception_dir):
    import hashlib

    from sagan_tf.metrics.classifier import weights_hash

    keras_a = classifier_loaders.load_classifier(tiny_keras_path)
    keras_b = classifier_loaders.load_classifier(tiny_keras_path)
    expected = hashlib.sha256()
    for w in keras_a.model.weights:
        value = np.asarray(w)
        expected.update(f"{value.dtype.str}{value.shape};".encode() + value.tobytes())
    assert weights_hash(keras_a) == weights_hash(keras_b) == expected.hexdigest()
    keras_b.model.weights[0].assign(np.asarray(keras_b.model.weights[0]) + 1.0)
    assert weights_hash(keras_b) != weights_hash(keras_a)

    hub_a = classifier_loaders.saved_model_classifier(fake_inception_dir, input_size=16)
    hub_b = classifier_loaders.saved_model_classifier(fake_inception_dir, input_size=16)
    assert weights_hash(hub_a) == weights_hash(hub_b) not in (None, weights_hash(keras_a))
    assert weights_hash(Classifier(lambda x: (x, x), 2, name="bare")) is None

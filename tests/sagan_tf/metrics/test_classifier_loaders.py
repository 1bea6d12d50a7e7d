"""Tests of sagan_tf.metrics.classifier_loaders on models the tests make: .keras files,
TF-GAN-style and signature SavedModels, and the errors of a missing classifier. Outputs are
compared with the models themselves, called directly (Keras, tf.saved_model, tensorflow_hub)."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.metrics import classifier_loaders
from sagan_tf.metrics.classifier import ClassifierNotFoundError

SMALL_SIZE = 16  # Stand-in for Inception's 299, to keep the tests fast.


class SignatureOnlyModule(tf.Module):
    """A SavedModel that is not callable, with its own output names and input size."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.ones([3, 4]))

    @tf.function(input_signature=[tf.TensorSpec([None, 12, 12, 3], tf.float32)])
    def classify(self, pixels):
        feats = tf.reduce_mean(pixels, axis=[1, 2])
        return {"class_logits": feats @ self.w, "embedding": feats * 2.0}


def test_keras_file_logits_and_penultimate_activations(tiny_keras_path, random_images):
    classifier = classifier_loaders.load_classifier(tiny_keras_path)
    model = keras.saving.load_model(tiny_keras_path)
    assert (classifier.input_size, classifier.num_classes,
            classifier.num_features) == ((8, 8), 3, 6)
    images = random_images(5, 8)
    logits, activations = classifier.logits_and_activations(images)
    np.testing.assert_allclose(logits, model.predict(images, verbose=0), rtol=1e-5,
                               atol=1e-6)
    features = keras.Model(model.inputs[0], model.get_layer("features").output)
    np.testing.assert_allclose(activations, features(images), rtol=1e-5, atol=1e-6)

    # Other sizes are resized (bilinear) to the model's input size.
    big = random_images(4, 20, seed=1)
    logits, _ = classifier.logits_and_activations(big)
    resized = tf.image.resize(big, (8, 8), method="bilinear")
    np.testing.assert_allclose(logits, model(resized), rtol=1e-5, atol=1e-6)


def test_keras_named_activation_layer_and_softmax_output(tmp_path, random_images):
    inputs = keras.Input((8, 8, 3))
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(inputs)
    hidden = keras.layers.Dense(5, name="hidden")(pooled)
    probs = keras.layers.Dense(4, activation="softmax", name="probs")(hidden)
    model = keras.Model(inputs, probs)
    path = str(tmp_path / "softmax.keras")
    model.save(path)
    classifier = classifier_loaders.load_classifier(path, activations_layer="pool")
    images = random_images(3, 8)
    logits, activations = classifier(images)
    assert classifier.num_features == 3
    np.testing.assert_allclose(activations, np.mean(images, axis=(1, 2)), rtol=1e-5)
    # Probabilities are turned into logits with the same softmax.
    np.testing.assert_allclose(tf.nn.softmax(logits), model(images), rtol=1e-4,
                               atol=1e-6)


def test_tfgan_style_module_matches_tfgan_own_loader(fake_inception_dir, random_images):
    classifier = classifier_loaders.inception_classifier(fake_inception_dir,
                                                         input_size=SMALL_SIZE)
    assert classifier.name == "inception"
    assert (classifier.num_classes, classifier.num_features) == (7, 5)
    images = random_images(6, 24)
    logits, activations = classifier.logits_and_activations(images)

    # As TF-GAN's classifier_fn_from_tfhub calls the module: tensorflow_hub.load,
    # call on images in [-1, 1] at the module's size, flatten each output. (TF-GAN's
    # function itself cannot run here: its tf.compat.v1.layers.flatten is not
    # available with Keras 3.)
    import tensorflow_hub
    resized = tf.image.resize(images, (SMALL_SIZE, SMALL_SIZE))
    expected = tensorflow_hub.load(fake_inception_dir)(resized)
    np.testing.assert_allclose(logits, expected["logits"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(activations, np.reshape(expected["pool_3"], (6, -1)),
                               rtol=1e-5, atol=1e-6)
    assert activations.shape == (6, 5)


def test_saved_model_directory_defaults_to_inception_outputs(fake_inception_dir,
                                                             random_images):
    classifier = classifier_loaders.load_classifier(fake_inception_dir,
                                                    input_size=SMALL_SIZE)
    assert classifier.input_size == (SMALL_SIZE, SMALL_SIZE)
    assert (classifier.num_classes, classifier.num_features) == (7, 5)
    # Without a size, the Inception default (299) is used for the Inception keys.
    module = tf.saved_model.load(fake_inception_dir)
    big = classifier_loaders.saved_model_classifier(fake_inception_dir)
    assert big.input_size == (299, 299)
    images = random_images(2, 299)
    np.testing.assert_allclose(big(images)[0], module(images)["logits"], rtol=1e-5)


def test_saved_model_signature_with_named_outputs(tmp_path, random_images):
    path = str(tmp_path / "signature_only")
    module = SignatureOnlyModule()
    tf.saved_model.save(module, path, signatures={"serving_default": module.classify})
    classifier = classifier_loaders.load_classifier(path, logits_key="class_logits",
                                                    activations_key="embedding")
    assert classifier.input_size == (12, 12)  # From the signature's input shape.
    images = random_images(3, 12)
    logits, activations = classifier(images)
    means = images.mean(axis=(1, 2))
    np.testing.assert_allclose(logits, means @ np.ones((3, 4)), rtol=1e-5)
    np.testing.assert_allclose(activations, 2 * means, rtol=1e-5)
    with pytest.raises(ValueError, match=r"no output \['pool_3'\].*"
                       r"\['class_logits', 'embedding'\].*`activations_key`"):
        classifier_loaders.load_classifier(path, logits_key="class_logits",
                                           activations_key="pool_3")


def test_missing_classifier_errors_name_the_flag(tmp_path):
    with pytest.raises(ClassifierNotFoundError) as info:
        classifier_loaders.load_classifier(str(tmp_path / "no_such_inception"))
    message = str(info.value)
    assert "`--classifier=" in message and "does not exist" in message
    assert classifier_loaders.INCEPTION_HANDLE in message
    assert "untar" in message and "`--classifier=domain`" in message

    empty_cache = str(tmp_path / "empty_cache")
    with pytest.raises(ClassifierNotFoundError,
                       match=r"--classifier=inception.*not in the TF-Hub cache"):
        classifier_loaders.load_classifier("inception", hub_cache_dir=empty_cache,
                                           offline=True)
    with pytest.raises(ValueError, match="neither a `.keras` file nor"):
        classifier_loaders.load_classifier(str(tmp_path))
    with pytest.raises(ValueError, match="load_or_train_domain_classifier"):
        classifier_loaders.load_classifier("domain")

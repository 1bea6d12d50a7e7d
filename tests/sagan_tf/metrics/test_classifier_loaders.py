"""Classifier loading on models the tests make: .keras, TF-GAN-style SavedModel, hub cache."""

import hashlib
import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.metrics import classifiers

SMALL_SIZE = 16  # Stand-in for Inception's 299, to keep the tests fast.


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


class SignatureOnlyModule(tf.Module):
    """A SavedModel that is not callable, with its own output names and input size."""

    def __init__(self):
        super().__init__()
        self.w = tf.Variable(tf.ones([3, 4]))

    @tf.function(input_signature=[tf.TensorSpec([None, 12, 12, 3], tf.float32)])
    def classify(self, pixels):
        feats = tf.reduce_mean(pixels, axis=[1, 2])
        return {"class_logits": feats @ self.w, "embedding": feats * 2.0}


@pytest.fixture(scope="module")
def fake_inception_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("fake_inception") / "module")
    tf.saved_model.save(FakeInceptionModule(), path)
    return path


@pytest.fixture(scope="module")
def tiny_keras_path(tmp_path_factory):
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


def random_images(n, size, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(n, size, size, 3)).astype(np.float32)


def test_keras_file_logits_and_penultimate_activations(tiny_keras_path):
    classifier = classifiers.load_classifier(tiny_keras_path)
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


def test_keras_named_activation_layer_and_softmax_output(tmp_path):
    inputs = keras.Input((8, 8, 3))
    pooled = keras.layers.GlobalAveragePooling2D(name="pool")(inputs)
    hidden = keras.layers.Dense(5, name="hidden")(pooled)
    probs = keras.layers.Dense(4, activation="softmax", name="probs")(hidden)
    model = keras.Model(inputs, probs)
    path = str(tmp_path / "softmax.keras")
    model.save(path)
    classifier = classifiers.load_classifier(path, activations_layer="pool")
    images = random_images(3, 8)
    logits, activations = classifier(images)
    assert classifier.num_features == 3
    np.testing.assert_allclose(activations, np.mean(images, axis=(1, 2)), rtol=1e-5)
    # Probabilities are turned into logits with the same softmax.
    np.testing.assert_allclose(tf.nn.softmax(logits), model(images), rtol=1e-4,
                               atol=1e-6)


def test_tfgan_style_module_matches_tfgan_own_loader(fake_inception_dir):
    classifier = classifiers.inception_classifier(fake_inception_dir,
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


def test_saved_model_directory_defaults_to_inception_outputs(fake_inception_dir):
    classifier = classifiers.load_classifier(fake_inception_dir, input_size=SMALL_SIZE)
    assert classifier.input_size == (SMALL_SIZE, SMALL_SIZE)
    assert (classifier.num_classes, classifier.num_features) == (7, 5)
    # Without a size, the Inception default (299) is used for the Inception keys.
    module = tf.saved_model.load(fake_inception_dir)
    big = classifiers.saved_model_classifier(fake_inception_dir)
    assert big.input_size == (299, 299)
    images = random_images(2, 299)
    np.testing.assert_allclose(big(images)[0], module(images)["logits"], rtol=1e-5)


def test_saved_model_signature_with_named_outputs(tmp_path):
    path = str(tmp_path / "signature_only")
    module = SignatureOnlyModule()
    tf.saved_model.save(module, path, signatures={"serving_default": module.classify})
    classifier = classifiers.load_classifier(path, logits_key="class_logits",
                                             activations_key="embedding")
    assert classifier.input_size == (12, 12)  # From the signature's input shape.
    images = random_images(3, 12)
    logits, activations = classifier(images)
    means = images.mean(axis=(1, 2))
    np.testing.assert_allclose(logits, means @ np.ones((3, 4)), rtol=1e-5)
    np.testing.assert_allclose(activations, 2 * means, rtol=1e-5)
    with pytest.raises(ValueError, match=r"no output \['pool_3'\].*"
                       r"\['class_logits', 'embedding'\].*`activations_key`"):
        classifiers.load_classifier(path, logits_key="class_logits",
                                    activations_key="pool_3")


def hub_layout(cache_dir, handle, module_dir_source=None):
    """Lays out a downloaded module as tensorflow_hub's compressed resolver does."""
    folder = hashlib.sha1(handle.encode("utf8")).hexdigest()
    module_dir = os.path.join(cache_dir, folder)
    tf.saved_model.save(FakeInceptionModule(), module_dir)
    with open(module_dir + ".descriptor.txt", "w") as f:
        f.write(f"Module: {handle}\nDownload Time: 2024-01-01\n")
    return module_dir


def test_inception_from_a_hub_cache_directory(tmp_path, monkeypatch):
    cache_dir = str(tmp_path / "tfhub_cache")
    module_dir = hub_layout(cache_dir, classifiers.INCEPTION_HANDLE)
    monkeypatch.setenv("TFHUB_CACHE_DIR", cache_dir)
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)

    # tensorflow_hub itself resolves the handle to this directory (it finds the
    # module in its cache, so it does not try the network).
    import tensorflow_hub
    assert os.path.samefile(tensorflow_hub.resolve(classifiers.INCEPTION_HANDLE),
                            module_dir)
    assert classifiers.find_in_hub_cache(classifiers.INCEPTION_HANDLES) == module_dir

    classifier = classifiers.load_classifier("inception", input_size=SMALL_SIZE)
    assert classifier.name == "inception"
    images = random_images(2, SMALL_SIZE)
    expected = tf.saved_model.load(module_dir)(images)
    np.testing.assert_allclose(classifier(images)[0], expected["logits"], rtol=1e-5)

    # A handle URL is looked up the same way; an explicit cache dir wins.
    monkeypatch.delenv("TFHUB_CACHE_DIR")
    assert classifiers.load_classifier(classifiers.INCEPTION_HANDLE,
                                       input_size=SMALL_SIZE,
                                       hub_cache_dir=cache_dir).num_classes == 7


def test_default_hub_cache_dir_agrees_with_tensorflow_hub(tmp_path, monkeypatch):
    from tensorflow_hub import resolver

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path))
    assert classifiers.default_hub_cache_dir() == resolver.tfhub_cache_dir(
        use_temp=True)
    monkeypatch.delenv("TFHUB_CACHE_DIR")
    assert classifiers.default_hub_cache_dir() == resolver.tfhub_cache_dir(
        use_temp=True)


def test_missing_classifier_errors_name_the_flag(tmp_path):
    with pytest.raises(classifiers.ClassifierNotFoundError) as info:
        classifiers.load_classifier(str(tmp_path / "no_such_inception"))
    message = str(info.value)
    assert "`--classifier=" in message and "does not exist" in message
    assert classifiers.INCEPTION_HANDLE in message
    assert "untar" in message and "`--classifier=domain`" in message

    empty_cache = str(tmp_path / "empty_cache")
    with pytest.raises(classifiers.ClassifierNotFoundError,
                       match=r"--classifier=inception.*not in the TF-Hub cache"):
        classifiers.load_classifier("inception", hub_cache_dir=empty_cache)
    with pytest.raises(ValueError, match="neither a `.keras` file nor"):
        classifiers.load_classifier(str(tmp_path))
    with pytest.raises(ValueError, match="load_or_train_domain_classifier"):
        classifiers.load_classifier("domain")


def test_image_conversion(tiny_keras_path):
    classifier = classifiers.load_classifier(tiny_keras_path)
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

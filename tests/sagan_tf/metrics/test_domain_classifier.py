"""The domain classifier on scikit-learn's digits: accuracy, reuse (local and ram://), FID."""

import os
import uuid

import numpy as np
import pytest
import sklearn.model_selection
import tensorflow as tf

from sagan_tf.metrics import classifier_loaders
from sagan_tf.metrics import domain_classifier
from sagan_tf.evaluation import metrics_run as evaluation
from sagan_tf.metrics import scores
from sagan_tf.metrics import streaming

NUM_CLASSES = 10


@pytest.fixture(scope="module")
def split(digits):
    images, labels = digits
    train_x, test_x, train_y, test_y = sklearn.model_selection.train_test_split(
        images, labels, test_size=0.3, random_state=0, stratify=labels)
    return (train_x, train_y), (test_x, test_y)


@pytest.fixture(scope="module")
def trained(split, tmp_path_factory):
    """Trains once (a few epochs) and saves to a .keras file."""
    path = str(tmp_path_factory.mktemp("domain") / "digits_classifier.keras")
    train, test = split
    classifier, accuracy = domain_classifier.load_or_train_domain_classifier(
        path, train, test, num_classes=NUM_CLASSES, epochs=8, verbose=0)
    return path, classifier, accuracy


def all_activations(classifier, images, batch_size=256):
    batches = [images[i:i + batch_size] for i in range(0, len(images), batch_size)]
    return streaming.compute_activations(classifier, batches, progress=False)


def test_test_accuracy_at_least_0_9(trained, split):
    path, classifier, accuracy = trained
    test_x, test_y = split[1]
    logits, _, _ = all_activations(classifier, test_x)
    independent = float(np.mean(np.argmax(logits, axis=1) == test_y))
    print(f"domain classifier test accuracy: {accuracy:.4f}")
    assert accuracy == pytest.approx(independent)
    assert accuracy >= 0.9
    assert (classifier.num_classes, classifier.num_features) == (NUM_CLASSES, 128)
    assert classifier.input_size == (32, 32)


def test_saved_file_is_reused(trained, split):
    path, classifier, accuracy = trained
    assert os.path.exists(path)
    # No training data: it must load the saved model, with the same outputs.
    loaded, loaded_accuracy = domain_classifier.load_or_train_domain_classifier(
        path, train_data=None, test_data=split[1], num_classes=NUM_CLASSES, verbose=0)
    assert loaded_accuracy == pytest.approx(accuracy)
    images = split[1][0][:16]
    for a, b in zip(loaded(images), classifier(images)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    # The generic loader reads the same file with the penultimate layer, which
    # is the features layer.
    generic = classifier_loaders.load_classifier(path)
    np.testing.assert_allclose(generic(images)[1], classifier(images)[1], rtol=1e-5,
                               atol=1e-5)

    with pytest.raises(ValueError, match="has 10 classes, but the data has "
                       "num_classes=7"):
        domain_classifier.load_or_train_domain_classifier(path, num_classes=7,
                                                          verbose=0)


def test_real_vs_real_fid_much_lower_than_real_vs_noise(trained, digits):
    _, classifier, _ = trained
    images, _ = digits
    rng = np.random.default_rng(0)
    order = rng.permutation(len(images))
    half = len(images) // 2
    first = all_activations(classifier, images[order[:half]])[1]
    second = all_activations(classifier, images[order[half:2 * half]])[1]
    noise = rng.uniform(-1, 1, size=(half, 32, 32, 3)).astype(np.float32)
    noise_acts = all_activations(classifier, noise)[1]
    real_vs_real = scores.frechet_distance(first, second)
    real_vs_noise = scores.frechet_distance(first, noise_acts)
    print(f"digits FID real-vs-real {real_vs_real:.3f}, "
          f"real-vs-noise {real_vs_noise:.3f}")
    assert real_vs_noise > 10 * real_vs_real


def test_evaluate_perfect_and_noise_generators(trained, split):
    """Held-out real digits as a 'generator' score far better than noise."""
    _, classifier, _ = trained
    (train_x, train_y), (test_x, test_y) = split
    rng = np.random.default_rng(1)
    by_class = [test_x[test_y == c] for c in range(NUM_CLASSES)]

    def perfect(labels):
        return np.stack([by_class[c][rng.integers(len(by_class[c]))] for c in labels])

    def noise(labels):
        return rng.uniform(-1, 1, size=(len(labels), 32, 32, 3)).astype(np.float32)

    def real_batches():
        for i in range(0, len(train_x), 100):
            yield train_x[i:i + 100], train_y[i:i + 100]

    kwargs = dict(classifier=classifier, num_samples=400, batch_size=100,
                  num_classes=NUM_CLASSES, progress=False)
    good = evaluation.evaluate(perfect, real_batches(), **kwargs)
    bad = evaluation.evaluate(noise, real_batches(), **kwargs)
    print("perfect:", good, "\nnoise:", bad)
    assert good["class_accuracy"] >= 0.9 and bad["class_accuracy"] < 0.5
    assert good["fid"] * 10 < bad["fid"]
    assert good["intra_fid"] < bad["intra_fid"]
    assert good["kid"] < bad["kid"]
    assert good["inception_score"] > 5 > bad["inception_score"]


def test_training_errors(tmp_path, split):
    train, _ = split
    with pytest.raises(ValueError, match="no `train_data` to train one"):
        domain_classifier.load_or_train_domain_classifier(
            str(tmp_path / "missing.keras"), num_classes=NUM_CLASSES)
    with pytest.raises(ValueError, match="must be a `.keras` file"):
        domain_classifier.load_or_train_domain_classifier(str(tmp_path / "model.h5"))
    with pytest.raises(ValueError, match=r"images must be in \[-1, 1\]"):
        domain_classifier.train_domain_classifier((train[0] * 255, train[1]),
                                                  NUM_CLASSES, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"labels must be in \[0, 5\)"):
        domain_classifier.train_domain_classifier(train, 5, epochs=1, verbose=0)


def test_saved_to_and_reloaded_from_a_tensorflow_filesystem(digits):
    images, labels = digits[0][:40], digits[1][:40]
    root = f"ram://sagan_test_{uuid.uuid4().hex}"
    path = f"{root}/models/domain.keras"
    try:
        trained, accuracy = domain_classifier.load_or_train_domain_classifier(
            path, (images, labels), num_classes=NUM_CLASSES, epochs=1, batch_size=20,
            verbose=0)
        assert accuracy is None
        assert tf.io.gfile.listdir(f"{root}/models") == ["domain.keras"]
        # No training data: it must load the file, with the same weights and logits.
        loaded, _ = domain_classifier.load_or_train_domain_classifier(
            path, num_classes=NUM_CLASSES, verbose=0)
        for a, b in zip(loaded.model.get_weights(), trained.model.get_weights()):
            np.testing.assert_array_equal(a, b)
        for a, b in zip(loaded(images), trained(images)):
            np.testing.assert_array_equal(a, b)
        from_path = domain_classifier.domain_classifier_from_model(path)
        np.testing.assert_array_equal(from_path(images)[0], trained(images)[0])
    finally:
        tf.io.gfile.rmtree(root)

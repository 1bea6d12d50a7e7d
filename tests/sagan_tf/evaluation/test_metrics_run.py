"""evaluate(): every number against an independent NumPy computation on the same images."""

import json
import logging

import numpy as np
import pytest
import scipy.linalg
from scipy.spatial.distance import cdist
import scipy.special

from sagan_tf.evaluation import metrics_run as evaluation

NUM_CLASSES = 3


def numpy_fid(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = np.real(scipy.linalg.sqrtm(cov_x @ cov_y))
    return float(np.sum((x.mean(0) - y.mean(0)) ** 2)
                 + np.trace(cov_x + cov_y - 2 * covmean))


def numpy_mmd2(x, y):
    x, y = x.astype(np.float64), y.astype(np.float64)
    k = lambda a, b: (a @ b.T / x.shape[1] + 1.0) ** 3  # noqa: E731
    kxx, kyy = k(x, x), k(y, y)
    m, n = len(x), len(y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2 * k(x, y).mean())


class RecordingGenerator:
    """Class-dependent images; remembers everything it generated."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)
        self.images, self.labels = [], []

    def __call__(self, labels):
        base = np.linspace(-0.8, 0.8, 4)[labels][:, None, None, None]
        images = np.clip(base + self.rng.normal(scale=0.3, size=(len(labels), 10, 10, 3)),
                         -1, 1).astype(np.float32)
        self.images.append(images)
        self.labels.append(np.array(labels))
        return images


def real_data(n, seed=1):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, size=n).astype(np.int32)
    base = np.linspace(-0.7, 0.7, NUM_CLASSES)[labels][:, None, None, None]
    images = np.clip(base + rng.normal(scale=0.35, size=(n, 10, 10, 3)), -1, 1)
    return images.astype(np.float32), labels


def test_evaluate_against_numpy(tiny_classifier):
    real_images, real_labels = real_data(80)
    real_batches = ((real_images[i:i + 16], real_labels[i:i + 16])
                    for i in range(0, 80, 16))
    generator = RecordingGenerator()
    results = evaluation.evaluate(generator, real_batches, tiny_classifier,
                                  num_samples=60, batch_size=16,
                                  num_classes=NUM_CLASSES, seed=3, progress=False)
    assert set(results) == set(evaluation.METRIC_NAMES) | {"warnings"}
    assert results["warnings"] == []  # 60 images of 6 features: full-rank covariances
    json.dumps(results, allow_nan=False)  # Strict JSON.

    fake_images = np.concatenate(generator.images)
    fake_labels = np.concatenate(generator.labels)
    assert fake_images.shape[0] == 60
    assert [len(b) for b in generator.labels] == [16, 16, 16, 12]
    np.testing.assert_array_equal(np.bincount(fake_labels), [20, 20, 20])
    assert not np.array_equal(fake_labels, np.arange(60) % NUM_CLASSES)  # Shuffled.

    # Classifier outputs on the same batches evaluate() used (float32 results can
    # differ in the last bits with the batch grouping).
    def run(batches):
        outputs = [tiny_classifier(b) for b in batches]
        return (np.concatenate([o[0] for o in outputs]),
                np.concatenate([o[1] for o in outputs]))

    real_acts = run([real_images[i:min(i + 16, 60)] for i in range(0, 60, 16)])[1]
    fake_logits, fake_acts = run(generator.images)
    p = scipy.special.softmax(fake_logits.astype(np.float64), axis=1)
    expected_is = np.exp(np.mean(np.sum(p * (np.log(p) - np.log(p.mean(0))), 1)))
    assert results["inception_score"] == pytest.approx(expected_is, rel=1e-5)
    assert results["fid"] == pytest.approx(numpy_fid(real_acts, fake_acts), rel=1e-6)
    assert results["kid"] == pytest.approx(numpy_mmd2(real_acts, fake_acts), rel=1e-6)
    assert results["kid_std"] is None  # One KID block.
    per_class = [numpy_fid(real_acts[real_labels[:60] == c], fake_acts[fake_labels == c])
                 for c in range(NUM_CLASSES)]
    assert results["intra_fid"] == pytest.approx(np.mean(per_class), rel=1e-6)
    # The classifier has as many classes as the data: class accuracy is reported.
    expected_accuracy = np.mean(np.argmax(fake_logits, 1) == fake_labels)
    assert results["class_accuracy"] == pytest.approx(expected_accuracy)
    # Precision, recall, density and coverage on the same activations, brute force.
    def inside(points, centres, k):
        radii = np.sort(cdist(centres, centres), axis=1)[:, k]
        return cdist(points, centres) <= radii[None, :]
    assert results["precision"] == pytest.approx(inside(fake_acts, real_acts, 3).any(1).mean())
    assert results["recall"] == pytest.approx(inside(real_acts, fake_acts, 3).any(1).mean())
    assert results["density"] == pytest.approx(inside(fake_acts, real_acts, 5).sum()
                                               / (5 * len(fake_acts)))
    assert results["coverage"] == pytest.approx(inside(fake_acts, real_acts, 5).any(0).mean())
    assert set(evaluation.METRIC_NAMES) <= set(results)


def test_evaluate_optional_metrics(tiny_classifier, caplog):
    real_images, real_labels = real_data(40)
    # More KID blocks give a standard error; no real labels, no intra-FID; a
    # classifier with another number of classes, no class accuracy.
    results = evaluation.evaluate(
        RecordingGenerator(), [real_images], tiny_classifier, num_samples=40,
        batch_size=40, num_classes=4, kid_block_size=10, progress=False)
    assert results["intra_fid"] is None and results["class_accuracy"] is None
    assert isinstance(results["kid_std"], float) and results["kid_std"] > 0

    # Too few samples per class for intra-FID: skipped with a warning.
    with caplog.at_level(logging.WARNING):
        results = evaluation.evaluate(
            RecordingGenerator(), [(real_images, real_labels)], tiny_classifier,
            num_samples=4, batch_size=4, num_classes=NUM_CLASSES, progress=False)
    assert results["intra_fid"] is None
    assert "Intra-FID not computed" in caplog.text
    assert results["fid"] is not None

    with pytest.raises(ValueError, match="`num_samples` must be at least 2"):
        evaluation.evaluate(RecordingGenerator(), [real_images], tiny_classifier,
                            num_samples=1, batch_size=4, num_classes=3)


def test_unconditional_generator_gets_labels_0_and_no_class_metrics(tiny_classifier):
    real_images, real_labels = real_data(40)
    generator = RecordingGenerator()
    results = evaluation.evaluate(generator, [(real_images, real_labels)], tiny_classifier,
                                  num_samples=40, batch_size=20, num_classes=None,
                                  progress=False)
    np.testing.assert_array_equal(np.concatenate(generator.labels), np.zeros(40))
    assert results["intra_fid"] is None and results["class_accuracy"] is None
    fake_acts = np.concatenate([np.asarray(tiny_classifier(b)[1]) for b in generator.images])
    real_acts = np.asarray(tiny_classifier(real_images)[1])
    assert results["fid"] == pytest.approx(numpy_fid(real_acts, fake_acts), rel=1e-5)


@pytest.mark.parametrize("num_samples,warned", [(6, ["real", "generated"]), (7, [])])
def test_fid_from_no_more_images_than_features_carries_a_warning(tiny_classifier,
                                                                 num_samples, warned):
    """tiny_classifier has 6 features: 6 images give a covariance of rank 5 < 6."""
    real_images, _ = real_data(num_samples)
    results = evaluation.evaluate(
        RecordingGenerator(), [real_images], tiny_classifier, num_samples=num_samples,
        batch_size=num_samples, num_classes=NUM_CLASSES, progress=False)
    assert len(results["warnings"]) == len(warned)
    for text, kind in zip(results["warnings"], warned):
        assert f"FID from {num_samples} {kind} images of 6 features" in text
        assert "rank-deficient" in text
    json.dumps(results)  # still JSON


def test_the_classifier_sees_each_image_once_for_every_metric(tiny_classifier):
    """One pass: IS, FID, KID, intra-FID, class accuracy and the manifold metrics all
    read the same activations."""
    seen = []

    class Counting:
        num_classes = tiny_classifier.num_classes

        def logits_and_activations(self, images):
            seen.append(int(images.shape[0]))
            return tiny_classifier.logits_and_activations(images)

    real_images, real_labels = real_data(48)
    results = evaluation.evaluate(
        RecordingGenerator(), [(real_images, real_labels)], Counting(), num_samples=48,
        batch_size=16, num_classes=NUM_CLASSES, progress=False)
    assert sum(seen) == 2 * 48  # 48 real, 48 generated
    assert all(results[name] is not None for name in evaluation.METRIC_NAMES
               if name != "kid_std")

"""Reference statistics: moments against NumPy, the file round trip, FID from the file
equal to FID from the images, TTUR files, refusals by name."""

import io

import numpy as np
import pytest

from sagan_tf import storage
from sagan_tf.evaluation import metrics_run, reference_stats
from sagan_tf.evaluation.generators import EvalError
from sagan_tf.metrics.classifier import weights_hash

NUM_CLASSES = 3


class Generator:
    """Class-dependent 10x10 images from its own seed: the same for the same seed."""

    def __init__(self, seed=0):
        self.rng = np.random.default_rng(seed)

    def __call__(self, labels):
        base = np.linspace(-0.8, 0.8, 4)[labels][:, None, None, None]
        return np.clip(base + self.rng.normal(scale=0.3, size=(len(labels), 10, 10, 3)),
                       -1, 1).astype(np.float32)


def real_batches(n=90, batch=16, seed=1):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, NUM_CLASSES, size=n).astype(np.int32)
    images = np.clip(np.linspace(-0.7, 0.7, NUM_CLASSES)[labels][:, None, None, None]
                     + rng.normal(scale=0.35, size=(n, 10, 10, 3)), -1, 1)
    images = images.astype(np.float32)
    return [(images[i:i + batch], labels[i:i + batch]) for i in range(0, n, batch)]


def stats_of(classifier, n=90, num_activations=1000):
    return reference_stats.compute_reference_stats(
        classifier, real_batches(n), dataset="toy", split="test", resolution=10,
        num_images=n, num_activations=num_activations, seed=1, progress=False)


def test_moments_and_kept_activations_match_numpy(tiny_classifier):
    stats = stats_of(tiny_classifier, num_activations=40)
    acts = np.concatenate([tiny_classifier(b[0])[1] for b in real_batches()]).astype(
        np.float64)
    np.testing.assert_allclose(stats.mean, acts.mean(0), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(stats.covariance, np.cov(acts, rowvar=False),
                               rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(stats.activations, acts[:40], rtol=1e-6)
    labels = np.concatenate([b[1] for b in real_batches()])
    np.testing.assert_array_equal(stats.labels, labels[:40])
    assert stats.protocol == dict(
        format=reference_stats.FORMAT, classifier="tiny",
        classifier_weights_sha256=weights_hash(tiny_classifier), input_size=[8, 8],
        resize="bilinear", num_features=6, dataset="toy", split="test", resolution=10,
        num_images=90, num_activations=40, seed=1)


def test_file_round_trip_on_any_filesystem(tiny_classifier, ram_root):
    stats = stats_of(tiny_classifier)
    path = storage.join(ram_root, "stats", "toy.npz")
    reference_stats.save_reference_stats(path, stats)
    loaded = reference_stats.load_reference_stats(path)
    np.testing.assert_array_equal(loaded.mean, stats.mean)
    np.testing.assert_array_equal(loaded.covariance, stats.covariance)
    np.testing.assert_array_equal(loaded.activations, stats.activations)
    np.testing.assert_array_equal(loaded.labels, stats.labels)
    assert loaded.protocol == stats.protocol and loaded.path == path
    assert not [n for n in storage.listdir(storage.join(ram_root, "stats")) if ".tmp" in n]


def evaluate(classifier, real=None, reference=None):
    return metrics_run.evaluate(Generator(), real, classifier, num_samples=90,
                                batch_size=30, num_classes=NUM_CLASSES, seed=4,
                                progress=False, reference=reference)


def test_fid_from_the_file_equals_fid_from_the_images(tiny_classifier):
    from_images = evaluate(tiny_classifier, real=real_batches())
    from_file = evaluate(tiny_classifier, reference=stats_of(tiny_classifier))
    assert from_file["fid"] == pytest.approx(from_images["fid"], rel=1e-7)
    for name in ("kid", "intra_fid", "precision", "recall", "density", "coverage",
                 "inception_score", "class_accuracy"):
        assert from_file[name] == pytest.approx(from_images[name], rel=1e-6), name


def test_a_ttur_file_gives_fid_alone(tiny_classifier, tmp_path):
    stats = stats_of(tiny_classifier)
    buffer = io.BytesIO()
    np.savez(buffer, mu=stats.mean.astype(np.float32), sigma=stats.covariance)
    path = str(tmp_path / "fid_stats_toy.npz")
    storage.write_atomically(path, buffer.getvalue())
    ttur = reference_stats.load_reference_stats(path)
    reference_stats.check_reference(ttur, tiny_classifier, resolution=64)  # unknown: ok
    results = evaluate(tiny_classifier, reference=ttur)
    assert results["fid"] == pytest.approx(
        evaluate(tiny_classifier, real=real_batches())["fid"], rel=1e-5)
    assert results["kid"] is None and results["precision"] is None
    assert results["intra_fid"] is None and results["inception_score"] is not None


def test_a_file_of_another_classifier_or_resolution_is_refused_by_name(tiny_classifier):
    import keras

    from sagan_tf.metrics import classifier_loaders

    stats = stats_of(tiny_classifier)
    with pytest.raises(EvalError, match="resolution 10, but this evaluation has "
                                        "resolution 32"):
        reference_stats.check_reference(stats, tiny_classifier, resolution=32)
    with pytest.raises(EvalError, match="dataset 'toy', but this evaluation has dataset "
                                        "'digits'"):
        reference_stats.check_reference(stats, tiny_classifier, 10, dataset="digits")
    reference_stats.check_reference(stats, tiny_classifier, 10, dataset="toy")
    other = classifier_loaders.keras_classifier(keras.Sequential([  # 6 features too
        keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D(),
        keras.layers.Dense(6, name="features"), keras.layers.Dense(3)], name="tiny_cnn"))
    with pytest.raises(EvalError, match="made with classifier 'tiny', but this evaluation "
                                        "has classifier 'tiny_cnn'"):
        reference_stats.check_reference(stats, other, resolution=10)
    renamed = dict(stats.protocol, classifier="tiny_cnn")
    with pytest.raises(EvalError, match=r"classifier weights \(SHA-256\)"):
        reference_stats.check_reference(reference_stats.ReferenceStats(
            stats.mean, stats.covariance, protocol=renamed), other, resolution=10)
    narrow = reference_stats.ReferenceStats(np.zeros(4), np.eye(4))
    with pytest.raises(EvalError, match="have 4 features, but classifier 'tiny' gives 6"):
        reference_stats.check_reference(narrow, tiny_classifier, resolution=10)


def test_unreadable_files_are_named(tmp_path):
    with pytest.raises(EvalError, match="does not exist"):
        reference_stats.load_reference_stats(str(tmp_path / "none.npz"))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(EvalError, match="is not an .npz file"):
        reference_stats.load_reference_stats(str(bad))
    buffer = io.BytesIO()
    np.savez(buffer, mean=np.zeros(3))
    (tmp_path / "other.npz").write_bytes(buffer.getvalue())
    with pytest.raises(EvalError, match=r"has no \['mu', 'sigma'\]"):
        reference_stats.load_reference_stats(str(tmp_path / "other.npz"))

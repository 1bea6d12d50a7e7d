"""sagan-fid-stats: the file it writes against NumPy statistics of the same activations.

Run as a subprocess (`python -m training.fid_stats`): its flags share names with
sagan-eval's, so the two main modules never load in one process.
"""

import os
import subprocess
import sys

import keras
import numpy as np
import pytest

from sagan_tf.data import digits_arrays
from sagan_tf.evaluation import load_reference_stats
from sagan_tf.metrics import classifier_loaders, weights_hash

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def fid_stats(*args):
    return subprocess.run([sys.executable, "-m", "training.fid_stats", *args],
                          capture_output=True, text=True, cwd=REPO, timeout=300,
                          check=False)


@pytest.fixture(scope="module")
def classifier_path(tmp_path_factory):
    keras.utils.set_random_seed(0)
    model = keras.Sequential([
        keras.Input((8, 8, 3)), keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(6, name="features"),
        keras.layers.Dense(10)], name="tiny_digits")
    path = str(tmp_path_factory.mktemp("classifier") / "tiny.keras")
    model.save(path)
    return path


def test_writes_the_statistics_and_the_protocol(classifier_path, tmp_path):
    output = str(tmp_path / "stats" / "digits_test.npz")
    proc = fid_stats("--dataset=digits", "--resolution=32", f"--classifier={classifier_path}",
                     "--num_activations=50", "--noprogress", f"--output={output}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"Wrote {output}: 359 images of digits test at 32x32" in proc.stdout
    stats = load_reference_stats(output)
    classifier = classifier_loaders.load_classifier(classifier_path)
    images, labels = digits_arrays("test", 32)
    acts = np.asarray(classifier(images)[1], np.float64)
    np.testing.assert_allclose(stats.mean, acts.mean(0), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(stats.covariance, np.cov(acts, rowvar=False), rtol=1e-4,
                               atol=1e-7)
    np.testing.assert_allclose(stats.activations, acts[:50], rtol=1e-5, atol=1e-7)
    np.testing.assert_array_equal(stats.labels, labels[:50])
    assert stats.protocol["classifier"] == "tiny_digits"
    assert stats.protocol["classifier_weights_sha256"] == weights_hash(classifier)
    assert stats.protocol["input_size"] == [8, 8] and stats.protocol["resize"] == "bilinear"
    assert (stats.protocol["dataset"], stats.protocol["split"],
            stats.protocol["resolution"], stats.protocol["num_images"]) == (
                "digits", "test", 32, 359)



@pytest.mark.slow  # 18 s (trains a classifier); the statistics test stays default
def test_a_domain_classifier_on_digits_needs_no_num_classes(tmp_path):
    """Trained here (one epoch): its class count comes from the data (digits: 10), as
    sagan-eval takes it."""
    output = str(tmp_path / "domain.npz")
    proc = fid_stats("--dataset=digits", "--resolution=32", "--classifier=domain",
                     f"--domain_classifier_path={tmp_path / 'domain.keras'}",
                     "--domain_epochs=1", "--num_activations=20",
                     "--noprogress", f"--output={output}")
    assert "num_classes" not in proc.stderr, proc.stderr[-2000:]
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert load_reference_stats(output).protocol["num_images"] == 359

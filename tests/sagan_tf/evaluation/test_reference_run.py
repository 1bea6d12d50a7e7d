"""Tests of sagan_tf.evaluation.reference_run: sagan-fid-stats' settings and work."""

import numpy as np
import pytest

from sagan_tf import storage
from sagan_tf.data import digits_arrays
from sagan_tf.evaluation import EvalError, load_reference_stats
from sagan_tf.evaluation.reference_run import ReferenceSettings, write_reference_stats


def test_required_settings_are_named():
    """The program turns these EvalErrors into one line `sagan-fid-stats: error: ...`."""
    with pytest.raises(EvalError, match="`--output` is required"):
        ReferenceSettings(dataset="digits", resolution=32)
    with pytest.raises(EvalError, match="`num_images` must be at least 2"):
        ReferenceSettings(dataset="digits", resolution=32, output="x.npz", num_images=1)


def test_writes_the_first_images_of_the_split(tiny_classifier, ram_root, tmp_path):
    path = str(tmp_path / "tiny.keras")
    tiny_classifier.model.save(path)
    output = storage.join(ram_root, "digits8.npz")
    write_reference_stats(ReferenceSettings(
        dataset="digits", resolution=8, output=output, split="train", num_images=100,
        num_activations=30, batch_size=32, classifier=path, progress=False), verbose=0)
    stats = load_reference_stats(output)
    images, _ = digits_arrays("train", 8)
    acts = np.asarray(tiny_classifier(images[:100])[1], np.float64)
    np.testing.assert_allclose(stats.mean, acts.mean(0), rtol=1e-5, atol=1e-7)
    assert stats.activations.shape == (30, 6)
    assert (stats.protocol["split"], stats.protocol["num_images"],
            stats.protocol["resolution"]) == ("train", 100, 8)

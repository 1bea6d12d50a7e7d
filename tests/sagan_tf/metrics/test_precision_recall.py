"""Tests of sagan_tf.metrics.precision_recall against a brute-force NumPy implementation
of Kynkaanniemi et al. (2019)."""

import numpy as np
import pytest

from sagan_tf.metrics.precision_recall import precision_recall


def numpy_precision_recall(real, fake, k):
    def radii(x):
        d = np.sqrt(((x[:, None] - x[None]) ** 2).sum(-1))
        return np.sort(d, axis=1)[:, k]  # column 0 is the sample itself
    d = np.sqrt(((fake[:, None] - real[None]) ** 2).sum(-1))  # [M, N]
    precision = np.mean((d <= radii(real)[None, :]).any(1))
    recall = np.mean((d.T <= radii(fake)[None, :]).any(1))
    return precision, recall


@pytest.mark.parametrize("k,block_elements", [(3, None), (3, 50), (1, 9)])
def test_matches_brute_force_numpy(k, block_elements):
    rng = np.random.default_rng(0)
    real = rng.normal(size=(60, 8))
    fake = rng.normal(loc=0.4, scale=1.3, size=(45, 8))  # overlapping, not equal
    expected = numpy_precision_recall(real, fake, k)
    assert 0 < expected[0] < 1 and 0 < expected[1] < 1  # a case that can fail
    assert precision_recall(real, fake, k=k, block_elements=block_elements) \
        == pytest.approx(expected, abs=1e-12)


def test_identical_sets_give_one_and_separated_sets_zero():
    x = np.random.default_rng(1).normal(size=(50, 6))
    assert precision_recall(x, x.copy()) == (1.0, 1.0)
    assert precision_recall(x, x + 100.0) == (0.0, 0.0)


def test_a_collapsed_generator_is_precise_but_recalls_little():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(200, 4))
    fake = real[:1] + rng.normal(scale=1e-3, size=(50, 4))  # one real image, copied
    precision, recall = precision_recall(real, fake)
    assert precision == 1.0 and recall <= 0.05

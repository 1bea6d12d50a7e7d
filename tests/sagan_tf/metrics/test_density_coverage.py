"""Tests of sagan_tf.metrics.density_coverage against a brute-force NumPy implementation
of Naeem et al. (2020)."""

import numpy as np
import pytest

from sagan_tf.metrics.density_coverage import density_coverage


def numpy_density_coverage(real, fake, k):
    d_real = np.sqrt(((real[:, None] - real[None]) ** 2).sum(-1))
    radii = np.sort(d_real, axis=1)[:, k]
    inside = np.sqrt(((fake[:, None] - real[None]) ** 2).sum(-1)) <= radii[None, :]
    return inside.sum() / (k * len(fake)), inside.any(0).mean()


@pytest.mark.parametrize("k,block_elements", [(5, None), (5, 40), (2, 11)])
def test_matches_brute_force_numpy(k, block_elements):
    rng = np.random.default_rng(0)
    real = rng.normal(size=(70, 8))
    fake = rng.normal(loc=0.3, scale=0.8, size=(40, 8))
    expected = numpy_density_coverage(real, fake, k)
    assert 0 < expected[1] < 1
    assert density_coverage(real, fake, k=k, block_elements=block_elements) \
        == pytest.approx(expected, abs=1e-12)


def test_identical_sets_cover_everything_and_separated_sets_nothing():
    x = np.random.default_rng(1).normal(size=(50, 6))
    density, coverage = density_coverage(x, x.copy())
    assert coverage == 1.0 and density >= 1.0 / 5  # each sample is in its own ball
    assert density_coverage(x, x + 100.0) == (0.0, 0.0)


def test_a_far_outlier_adds_no_ball():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(100, 3))
    # Near (not on) real samples: a copy would sit exactly on other balls' boundaries.
    near = real[:20] + rng.normal(scale=0.05, size=(20, 3))
    with_outlier = np.concatenate([near, np.full((1, 3), 50.0)])
    density, _ = density_coverage(real, with_outlier)
    assert density == pytest.approx(numpy_density_coverage(real, with_outlier, 5)[0])
    # The outlier is in no real ball and makes none: it only dilutes density by 20/21.
    assert density == pytest.approx(density_coverage(real, near)[0] * 20 / 21)

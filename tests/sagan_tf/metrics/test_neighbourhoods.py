"""Tests of sagan_tf.metrics.neighbourhoods against brute-force NumPy distances."""

import numpy as np
import pytest

from sagan_tf.metrics import neighbourhoods


def brute_distances(a, b):
    return np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))


@pytest.mark.parametrize("block_elements", [None, 7, 60])  # one block; one row; several
def test_radii_are_the_kth_neighbour_distances(block_elements):
    x = np.random.default_rng(0).normal(size=(40, 5))
    radii = neighbourhoods.kth_neighbour_radii(x, [1, 3], block_elements)
    d = np.sort(brute_distances(x, x), axis=1)  # column 0: the sample itself
    np.testing.assert_allclose(radii[1], d[:, 1], rtol=1e-9)
    np.testing.assert_allclose(radii[3], d[:, 3], rtol=1e-9)


@pytest.mark.parametrize("block_elements", [None, 5])
def test_ball_membership_counts_and_covers(block_elements):
    rng = np.random.default_rng(1)
    points, centres = rng.normal(size=(30, 4)), rng.normal(size=(25, 4))
    radii = rng.uniform(0.5, 2.0, size=25)
    counts, covered = neighbourhoods.ball_membership(points, centres, radii, block_elements)
    inside = brute_distances(points, centres) <= radii[None, :]
    np.testing.assert_array_equal(counts, inside.sum(1))
    np.testing.assert_array_equal(covered, inside.any(0))


def test_errors_name_the_argument():
    with pytest.raises(ValueError, match="`k` must be smaller than the number of samples"):
        neighbourhoods.kth_neighbour_radii(np.zeros((3, 2)), [3])
    with pytest.raises(ValueError, match="`radii` must have one value per centre"):
        neighbourhoods.ball_membership(np.zeros((3, 2)), np.zeros((4, 2)), np.ones(3))
    with pytest.raises(ValueError, match="`activations` must be a 2D array"):
        neighbourhoods.kth_neighbour_radii(np.zeros(5), [1])


def test_several_radii_from_one_pass_equal_one_pass_each():
    rng = np.random.default_rng(2)
    points, centres = rng.normal(size=(20, 3)), rng.normal(size=(15, 3))
    radii = [rng.uniform(0.3, 1.5, size=15) for _ in range(2)]
    together = neighbourhoods.ball_memberships(points, centres, radii, block_elements=16)
    for (counts, covered), r in zip(together, radii):
        alone = neighbourhoods.ball_membership(points, centres, r)
        np.testing.assert_array_equal(counts, alone[0])
        np.testing.assert_array_equal(covered, alone[1])

import numpy as np
import pytest
import scipy.stats
import tensorflow as tf

from sagan_tf import noise
from noise_reference import documented_z

D = 16


@pytest.mark.parametrize("truncation", [0.0, -1.0, 0.5, 2.0])
def test_latents_follow_the_documented_formula(truncation):
    z = noise.latents(123, 40, D, truncation).numpy()
    assert z.dtype == np.float32 and z.shape == (40, D)
    np.testing.assert_allclose(z, documented_z(123, 40, D, truncation), rtol=0, atol=1e-6)


def test_no_truncation_is_standard_normal_and_nan_means_none():
    z = noise.latents(7, 4000, D).numpy().ravel()
    # 64,000 draws: mean within ~5 sigma of 0, std within 1%, KS test against N(0, 1).
    assert abs(z.mean()) < 5 / np.sqrt(z.size)
    assert abs(z.std() - 1.0) < 0.01
    assert scipy.stats.kstest(z, "norm").pvalue > 1e-3
    np.testing.assert_array_equal(noise.latents(7, 5, D, float("nan")).numpy(),
                                  noise.latents(7, 5, D).numpy())


@pytest.mark.parametrize("t", [0.5, 1.0, 2.0])
def test_truncation_gives_the_truncated_normal(t):
    z = noise.latents(11, 4000, D, t).numpy().ravel()
    assert np.abs(z).max() <= np.float32(t)
    truncated = scipy.stats.truncnorm(-t, t)
    assert abs(z.std() - truncated.std()) < 0.01
    assert scipy.stats.kstest(z, truncated.cdf).pvalue > 1e-3


def test_lower_truncation_shrinks_each_coordinate_of_the_same_seed():
    zs = [noise.latents(5, 20, D, t).numpy() for t in (0.25, 0.5, 1.0, 2.0, 0.0)]
    for smaller, larger in zip(zs, zs[1:]):
        assert np.all(np.abs(smaller) <= np.abs(larger))
        assert np.all(np.sign(smaller) == np.sign(larger))


def test_row_i_depends_only_on_seed_and_i():
    np.testing.assert_array_equal(noise.latents(9, 3, D).numpy(),
                                  noise.latents(9, 10, D).numpy()[:3])
    assert not np.array_equal(noise.latents(9, 3, D).numpy(), noise.latents(10, 3, D).numpy())


def test_graph_with_int64_seed_tensor_matches_eager():
    @tf.function(input_signature=[tf.TensorSpec([], tf.int64), tf.TensorSpec([], tf.int32),
                                  tf.TensorSpec([], tf.float32)])
    def in_graph(seed, num, truncation):
        return noise.latents(seed, num, D, truncation)

    big_seed = 2 ** 40 + 3
    for truncation in (0.0, 0.7):
        np.testing.assert_array_equal(
            in_graph(tf.constant(big_seed, tf.int64), 6, truncation).numpy(),
            noise.latents(big_seed, 6, D, truncation).numpy())


def test_interpolate_has_exact_end_points_and_linear_steps():
    a, b = noise.latents(1, 2, D).numpy()
    path = noise.interpolate(a, b, 5).numpy()
    assert path.shape == (5, D)
    np.testing.assert_array_equal(path[0], a)
    np.testing.assert_array_equal(path[-1], b)
    expected = np.stack([(1 - w) * a.astype(np.float64) + w * b for w in np.linspace(0, 1, 5)])
    np.testing.assert_allclose(path, expected, rtol=0, atol=1e-6)


def test_interpolate_needs_two_steps():
    with pytest.raises(ValueError, match=r"`steps` must be an integer >= 2. Received: steps=1"):
        noise.interpolate(np.zeros(D), np.ones(D), 1)

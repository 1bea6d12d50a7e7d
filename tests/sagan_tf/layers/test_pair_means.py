import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.layers.pair_means import pair_means


def _numpy_pairs(t, parity, axis):
    """Means of pairs along `axis`: "O" rows (2i, 2i + 1), "E" rows (2k - 1, 2k) of t
    with a zero row on each side."""
    n = t.shape[axis]
    if parity == "E":
        widths = [(0, 0)] * t.ndim
        widths[axis] = (1, 1)
        t, n = np.pad(t, widths), n + 2
    pairs = n // 2
    first = np.take(t, range(0, 2 * pairs, 2), axis=axis)
    second = np.take(t, range(1, 2 * pairs, 2), axis=axis)
    return (first + second) / 2


@pytest.mark.parametrize("shape", [(2, 4, 6, 3), (1, 5, 7, 2), (1, 1, 1, 1)])
def test_pair_means_equal_numpy_at_both_parities(shape):
    t = np.random.RandomState(0).randn(*shape).astype("float32")
    got = {k: v.numpy() for k, v in pair_means(tf.constant(t)).items()}
    assert sorted(got) == ["EE", "EO", "OE", "OO"]
    for key, value in got.items():
        want = _numpy_pairs(_numpy_pairs(t, key[0], 1), key[1], 2)
        assert value.shape == want.shape, key
        np.testing.assert_allclose(value, want, rtol=1e-6, atol=1e-6)

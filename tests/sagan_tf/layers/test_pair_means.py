import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.layers.pair_means import pair_means, tap_means


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


@pytest.mark.parametrize("flipped", [False, True])
@pytest.mark.parametrize("shape", [(2, 4, 6, 3), (1, 5, 7, 2)])
def test_tap_means_are_the_blocks_each_tap_reads(shape, flipped):
    """Tap (a, b), block (i, j): the mean of t at rows 2i + a - 1, 2i + a and columns
    2j + b - 1, 2j + b (zero outside t); with `flipped`, rows 2i + 1 - a, 2i + 2 - a."""
    t = np.random.RandomState(1).randn(*shape).astype("float32")
    got = tf.reshape(tap_means(tf.constant(t), flipped), (-1,)).numpy()
    n, h, w, c = shape
    padded = np.pad(t, ((0, 0), (1, 2), (1, 2), (0, 0)))  # t[p] at padded[p + 1]
    want = np.zeros((n, h // 2, w // 2, 9, c))
    for a in range(3):
        for b in range(3):
            ra, rb = (2 - a, 2 - b) if flipped else (a, b)
            for i in range(h // 2):
                for j in range(w // 2):
                    block = padded[:, 2 * i + ra:2 * i + ra + 2, 2 * j + rb:2 * j + rb + 2]
                    want[:, i, j, 3 * a + b] = block.mean(axis=(1, 2))
    np.testing.assert_allclose(got, want.reshape(-1), rtol=1e-6, atol=1e-6)

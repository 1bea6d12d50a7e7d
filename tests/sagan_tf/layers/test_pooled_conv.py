import numpy as np
import pytest
import tensorflow as tf

import reference
from sagan_tf.layers.pooled_conv import pooled_conv3x3, pooled_kernel


def _plain(x, kernel):
    return tf.nn.avg_pool2d(tf.nn.conv2d(x, kernel, 1, "SAME"), 2, 2, "VALID")


@pytest.mark.parametrize("shape", [(2, 4, 6, 3), (1, 5, 7, 2), (2, 2, 2, 4)])
def test_equals_numpy_same_conv_then_average_pool(shape):
    """Even sizes ('same' padding of the strided conv) and odd ones (explicit padding;
    the pool drops the last row and column)."""
    rng = np.random.RandomState(0)
    x = rng.randn(*shape).astype("float32")
    kernel = rng.randn(3, 3, shape[-1], 5).astype("float32")
    y = pooled_conv3x3(tf.constant(x), tf.constant(kernel)).numpy()
    conv = reference.conv2d_same(x, kernel)
    h, w = shape[1] // 2 * 2, shape[2] // 2 * 2
    expected = reference.avg_pool2(conv[:, :h, :w])
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_pooled_kernel_is_the_mean_of_the_four_shifted_kernels():
    kernel = np.random.RandomState(1).randn(3, 3, 2, 3).astype("float32")
    expected = np.zeros((4, 4, 2, 3))
    for r in range(2):
        for s in range(2):
            expected[r:r + 3, s:s + 3] += kernel / 4
    np.testing.assert_allclose(pooled_kernel(tf.constant(kernel)).numpy(), expected,
                               rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype, tol", [("float32", 1e-5), ("bfloat16", 3e-2)])
def test_gradients_of_input_and_kernel_equal_the_plain_path(dtype, tol):
    rng = np.random.RandomState(2)
    x = tf.constant(rng.randn(2, 8, 8, 8).astype("float32"))
    kernel = tf.constant(rng.randn(3, 3, 8, 6).astype("float32") * 0.3)
    r = tf.constant(rng.randn(2, 4, 4, 6).astype("float32"))
    results = []
    for fn in (lambda t, k: pooled_conv3x3(t, k),
               lambda t, k: _plain(t, tf.cast(k, dtype))):
        with tf.GradientTape() as tape:
            tape.watch([x, kernel])
            y = fn(tf.cast(x, dtype), kernel)
            assert y.dtype == dtype
            loss = tf.reduce_sum(tf.cast(y, "float32") * r)
        results.append([y] + tape.gradient(loss, [x, kernel]))
    for got, want in zip(*results):
        got, want = tf.cast(got, "float32").numpy(), tf.cast(want, "float32").numpy()
        scale = np.abs(want).max()
        np.testing.assert_allclose(got / scale, want / scale, rtol=0, atol=tol)


def test_kernel_of_the_wrong_size():
    with pytest.raises(ValueError, match="must be \\[3, 3, C, F\\]"):
        pooled_conv3x3(tf.zeros((1, 4, 4, 3)), tf.zeros((2, 2, 3, 4)))

import numpy as np
import pytest
import tensorflow as tf

import reference
from sagan_tf.layers.pooled_conv import kernel_gradient, pooled_conv3x3, pooled_kernel


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


@pytest.mark.parametrize("shape", [(2, 4, 6, 3), (1, 5, 7, 2), (2, 2, 2, 4), (1, 3, 3, 16)])
def test_kernel_gradient_equals_numpy_filter_gradient_before_the_pool(shape):
    """dL/dK of <avgpool(conv_same(x, K)), r>: the 3x3 filter gradient of x against
    r / 4 spread over each pooled 2x2 block (zero on the row or column an odd size
    drops), in NumPy float64."""
    rng = np.random.RandomState(3)
    x = rng.randn(*shape).astype("float32")
    h, w = shape[1] // 2, shape[2] // 2
    r = rng.randn(shape[0], h, w, 5).astype("float32")
    spread = np.zeros(shape[:3] + (5,))
    spread[:, :2 * h, :2 * w] = reference.upsample2(r) / 4
    got = kernel_gradient(tf.constant(x), tf.constant(r)).numpy()
    want = reference.conv2d_kernel_grad(x, spread, (3, 3, shape[-1], 5))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("dtype, tol", [("float32", 1e-5), ("bfloat16", 3e-2)])
@pytest.mark.parametrize("shape", [(2, 8, 8, 8), (1, 5, 7, 8), (2, 2, 2, 8)])
def test_gradients_of_input_and_kernel_equal_the_plain_path(dtype, tol, shape):
    rng = np.random.RandomState(2)
    x = tf.constant(rng.randn(*shape).astype("float32"))
    kernel = tf.constant(rng.randn(3, 3, 8, 6).astype("float32") * 0.3)
    r = tf.constant(rng.randn(shape[0], shape[1] // 2, shape[2] // 2, 6).astype("float32"))
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


def test_kernel_gradient_in_a_graph_with_unknown_batch_and_size():
    kernel = tf.constant(np.random.RandomState(4).randn(3, 3, 2, 3).astype("float32"))

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 2]),
                                  tf.TensorSpec([None, None, None, 3])])
    def grad(x, r):
        with tf.GradientTape() as tape:
            tape.watch(kernel)
            loss = tf.reduce_sum(pooled_conv3x3(x, kernel) * r)
        return tape.gradient(loss, kernel)

    rng = np.random.RandomState(5)
    x = rng.randn(2, 6, 4, 2).astype("float32")
    r = rng.randn(2, 3, 2, 3).astype("float32")
    want = reference.conv2d_kernel_grad(x, reference.upsample2(r) / 4, (3, 3, 2, 3))
    np.testing.assert_allclose(grad(x, r).numpy(), want, rtol=1e-5, atol=1e-5)

import numpy as np
import pytest
import tensorflow as tf

import reference
from sagan_tf.layers.residual_up_block import upsample_nearest_2x
from sagan_tf.layers.subpixel_conv import kernel_gradient, phase_kernels, upsample_conv3x3


def _plain(x, kernel):
    return tf.nn.conv2d(upsample_nearest_2x(x), kernel, 1, "SAME")


@pytest.mark.parametrize("shape", [(2, 4, 4, 3), (1, 3, 5, 2), (2, 1, 1, 4)])
def test_equals_numpy_upsample_then_same_conv(shape):
    rng = np.random.RandomState(0)
    x = rng.randn(*shape).astype("float32")
    kernel = rng.randn(3, 3, shape[-1], 5).astype("float32")
    y = upsample_conv3x3(tf.constant(x), tf.constant(kernel)).numpy()
    expected = reference.conv2d_same(reference.upsample2(x), kernel)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)


def test_phase_kernels_sum_the_taps_that_read_each_input_pixel():
    """K_rs[d, e] sums the taps (a, b) with floor((r + a - 1) / 2) = d - 1 + r (rows)
    and the same for columns: the input pixel each tap of phase (r, s) reads."""
    kernel = np.random.RandomState(1).randn(3, 3, 2, 3).astype("float32")
    k = phase_kernels(tf.constant(kernel)).numpy()
    assert k.shape == (2, 2, 2, 2, 2, 3)
    for r in range(2):
        for s in range(2):
            expected = np.zeros((2, 2, 2, 3))
            for a in range(3):
                for b in range(3):
                    expected[(r + a - 1) // 2 + 1 - r, (s + b - 1) // 2 + 1 - s] += kernel[a, b]
            np.testing.assert_allclose(k[r, s], expected, rtol=1e-6, atol=1e-6)
    # Phase (0, 0) by hand: rows i-1 (tap 0) and i (taps 1 + 2), the same for columns.
    np.testing.assert_allclose(k[0, 0, 1, 1], kernel[1:, 1:].sum(axis=(0, 1)), rtol=1e-6)
    np.testing.assert_allclose(k[0, 0, 0, 0], kernel[0, 0], rtol=1e-6)


@pytest.mark.parametrize("tap_sums", ["depthwise", "pooled"])
@pytest.mark.parametrize("shape", [(2, 4, 4, 3), (1, 3, 5, 2), (2, 1, 1, 4), (1, 2, 6, 16)])
def test_kernel_gradient_equals_numpy_filter_gradient_of_the_upsampled_input(shape, tap_sums):
    """dL/dK of <upsample-then-conv(x, K), r> is the 3x3 filter gradient of the
    upsampled x (NumPy, float64), whatever the parity of H and W, both ways of
    summing the taps."""
    rng = np.random.RandomState(3)
    x = rng.randn(*shape).astype("float32")
    r = rng.randn(shape[0], 2 * shape[1], 2 * shape[2], 5).astype("float32")
    got = kernel_gradient(tf.constant(x), tf.constant(r), tap_sums=tap_sums).numpy()
    want = reference.conv2d_kernel_grad(reference.upsample2(x), r, (3, 3, shape[-1], 5))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("tap_sums", ["depthwise", "pooled"])
def test_kernel_gradient_in_bfloat16_is_the_float32_one_to_bfloat16_rounding(tap_sums):
    rng = np.random.RandomState(6)
    x = rng.randn(2, 4, 4, 16).astype("float32")
    r = rng.randn(2, 8, 8, 8).astype("float32")
    got = kernel_gradient(tf.constant(x, "bfloat16"), tf.constant(r, "bfloat16"),
                          tap_sums=tap_sums)
    assert got.dtype == "bfloat16"
    want = reference.conv2d_kernel_grad(
        reference.upsample2(tf.cast(tf.cast(x, "bfloat16"), "float32").numpy()),
        tf.cast(tf.cast(r, "bfloat16"), "float32").numpy(), (3, 3, 16, 8))
    scale = np.abs(want).max()
    np.testing.assert_allclose(tf.cast(got, "float32").numpy() / scale, want / scale,
                               rtol=0, atol=2e-2)


def test_kernel_gradient_refuses_an_unknown_tap_sum():
    with pytest.raises(ValueError, match="`tap_sums` must be one of"):
        kernel_gradient(tf.zeros((1, 2, 2, 3)), tf.zeros((1, 4, 4, 2)), tap_sums="fft")


@pytest.mark.parametrize("dtype, tol", [("float32", 1e-5), ("bfloat16", 3e-2)])
@pytest.mark.parametrize("shape", [(2, 4, 4, 8), (1, 3, 5, 8), (2, 1, 1, 8)])
def test_gradients_of_input_and_kernel_equal_the_plain_path(dtype, tol, shape):
    rng = np.random.RandomState(2)
    x = tf.constant(rng.randn(*shape).astype("float32"))
    kernel = tf.constant(rng.randn(3, 3, 8, 6).astype("float32") * 0.3)
    r = tf.constant(rng.randn(shape[0], 2 * shape[1], 2 * shape[2], 6).astype("float32"))
    results = []
    for fn in (lambda t, k: upsample_conv3x3(t, k),  # float32 kernel, combined then cast
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
        upsample_conv3x3(tf.zeros((1, 2, 2, 3)), tf.zeros((1, 1, 3, 4)))


def test_kernel_gradient_in_a_graph_with_unknown_batch_and_size():
    """The kernel's gradient when only C and F are known (a SavedModel signature, a
    tf.function over varying sizes), against NumPy."""
    kernel = tf.constant(np.random.RandomState(4).randn(3, 3, 2, 3).astype("float32"))

    @tf.function(input_signature=[tf.TensorSpec([None, None, None, 2]),
                                  tf.TensorSpec([None, None, None, 3])])
    def grad(x, r):
        with tf.GradientTape() as tape:
            tape.watch(kernel)
            loss = tf.reduce_sum(upsample_conv3x3(x, kernel) * r)
        return tape.gradient(loss, kernel)

    rng = np.random.RandomState(5)
    x = rng.randn(2, 3, 4, 2).astype("float32")
    r = rng.randn(2, 6, 8, 3).astype("float32")
    want = reference.conv2d_kernel_grad(reference.upsample2(x), r, (3, 3, 2, 3))
    np.testing.assert_allclose(grad(x, r).numpy(), want, rtol=1e-5, atol=1e-5)

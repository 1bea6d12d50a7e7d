import keras
import numpy as np
import pytest
import tensorflow as tf

from reference import (conv2d, conv2d_kernel_grad, conv2d_same, l2n, power_iteration,
                       sigma_from_u)
from sagan_tf.layers import SpectralConv2D


def _layer(filters=6, cin=4, kernel_size=3, seed=0, **kwargs):
    layer = SpectralConv2D(filters, kernel_size,
                           kernel_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed),
                           bias_initializer=keras.initializers.RandomNormal(seed=seed + 1),
                           **kwargs)
    layer.build((None, 7, 7, cin))
    return layer


def _x(shape, seed=1):
    return np.random.RandomState(seed).randn(*shape).astype("float32")


def test_sigma_converges_to_largest_singular_value_of_reshaped_kernel():
    layer = _layer(6, 4)
    w0 = layer.kernel.numpy()
    x = tf.random.normal((1, 5, 5, 4))
    for _ in range(80):
        layer(x, training=True)
    w = layer.kernel.numpy()
    # The raw kernel is never overwritten by the normalization.
    np.testing.assert_array_equal(w, w0)
    s = np.linalg.svd(w.reshape(3 * 3 * 4, 6), compute_uv=False)
    assert s[0] > 2.0  # far from normalized before: the check below can fail
    np.testing.assert_allclose(float(layer.sigma()), s[0], rtol=1e-4)
    w_sn = (w / float(layer.sigma())).reshape(36, 6)
    np.testing.assert_allclose(np.linalg.svd(w_sn, compute_uv=False)[0], 1.0, rtol=1e-4)


def test_training_call_is_one_power_iteration_and_output_matches_numpy_conv():
    layer = _layer()
    x = _x((2, 7, 7, 4))
    w, u0, b = layer.kernel.numpy(), layer.u.numpy(), layer.bias.numpy()
    sigma, u1, _ = power_iteration(w, u0)
    y = layer(x, training=True).numpy()
    assert layer.u.shape == (1, 6)
    np.testing.assert_allclose(layer.u.numpy(), u1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, conv2d_same(x, w / sigma, b), rtol=1e-4, atol=1e-4)


def test_inference_uses_stored_u_and_changes_nothing():
    layer = _layer()
    layer(tf.ones((1, 7, 7, 4)), training=True)
    w, u = layer.kernel.numpy(), layer.u.numpy()
    x = _x((3, 7, 7, 4), seed=2)
    y = layer(x, training=False).numpy()
    y_default = layer(x).numpy()
    np.testing.assert_array_equal(layer.u.numpy(), u)
    np.testing.assert_array_equal(layer.kernel.numpy(), w)
    expected = conv2d_same(x, w / sigma_from_u(w, u), layer.bias.numpy())
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(y_default, expected, rtol=1e-4, atol=1e-4)


def test_training_updates_u_but_not_the_kernel():
    layer = _layer()
    w, u = layer.kernel.numpy(), layer.u.numpy()
    layer(tf.ones((1, 7, 7, 4)), training=True)
    assert not np.allclose(layer.u.numpy(), u)
    np.testing.assert_array_equal(layer.kernel.numpy(), w)


def test_gradient_is_that_of_w_over_u_w_v_with_u_v_constant():
    layer = _layer(5, 3)
    rng = np.random.RandomState(3)
    x = rng.randn(2, 6, 6, 3).astype("float32")
    r = rng.randn(2, 6, 6, 5).astype("float32")
    w, u0 = layer.kernel.numpy().astype(np.float64), layer.u.numpy()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) * r)
    grad, grad_b = tape.gradient(loss, [layer.kernel, layer.bias])
    # L = <conv(x, W) / sigma, R> + <b, sum R>, sigma = v W_mat u^T with u, v constant.
    # conv is linear in W: <conv(x, W), R> = <G, W> with G = conv2d_kernel_grad(x, R), so
    #   dL/dW = G / sigma - <G, W> / sigma^2 * reshape(v^T u).
    w_mat = w.reshape(-1, 5)
    v = l2n(u0 @ w_mat.T)
    u1 = l2n(v @ w_mat)
    sigma = float((v @ w_mat @ u1.T).item())
    g = conv2d_kernel_grad(x, r, w.shape)
    expected = g / sigma - np.sum(g * w) / sigma ** 2 * (v.T @ u1).reshape(w.shape)
    np.testing.assert_allclose(grad.numpy(), expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(grad_b.numpy(), r.sum(axis=(0, 1, 2)), rtol=1e-5, atol=1e-4)
    assert not layer.u.trainable
    assert [v.name for v in layer.trainable_weights] == ["kernel", "bias"]


@pytest.mark.parametrize("kernel_size,strides,padding", [
    (3, 2, "same"), (3, 2, "valid"), (3, 1, "valid"), ((3, 1), (2, 1), "same"),
    (4, 3, "same"), (1, 2, "valid")])
def test_strides_and_padding_shape_and_values(kernel_size, strides, padding):
    layer = SpectralConv2D(4, kernel_size, strides=strides, padding=padding)
    x = _x((2, 9, 8, 3))
    y = layer(x, training=False).numpy()
    ks = layer.kernel_size
    st = layer.strides
    if padding == "same":
        shape = (2, -(-9 // st[0]), -(-8 // st[1]), 4)
    else:
        shape = (2, (9 - ks[0]) // st[0] + 1, (8 - ks[1]) // st[1] + 1, 4)
    assert y.shape == shape
    assert layer.compute_output_shape((2, 9, 8, 3)) == shape
    w = layer.kernel.numpy()
    expected = conv2d(x, w / sigma_from_u(w, layer.u.numpy()), layer.bias.numpy(),
                      st, padding)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("policy, tol", [("float32", 1e-5), ("mixed_bfloat16", 1e-2)])
def test_bias_gradient_is_the_sum_of_the_upstream_gradient(policy, tol):
    """The matmul-with-ones bias gradient against NumPy's sum over N, H, W."""
    layer = _layer(dtype=policy)
    x = tf.cast(tf.constant(_x((3, 7, 7, 4))), layer.compute_dtype)
    r = np.random.RandomState(3).randn(3, 7, 7, 6)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.cast(layer(x, training=True), "float32") * r)
    grad = tape.gradient(loss, layer.bias)
    assert grad.dtype == "float32"
    np.testing.assert_allclose(grad.numpy(), r.sum(axis=(0, 1, 2)),
                               rtol=tol, atol=tol * np.abs(r.sum(axis=(0, 1, 2))).max())


def test_no_bias():
    layer = SpectralConv2D(3, 1, use_bias=False)
    x = _x((1, 4, 4, 2))
    y = layer(x).numpy()
    assert layer.bias is None and len(layer.weights) == 2
    w = layer.kernel.numpy()
    np.testing.assert_allclose(y, conv2d_same(x, w / sigma_from_u(w, layer.u.numpy())),
                               rtol=1e-4, atol=1e-5)


def test_config_round_trip_and_equal_outputs_after_copying_weights():
    layer = SpectralConv2D(5, (3, 1), strides=(1, 2), padding="valid", use_bias=False,
                           power_iterations=2, name="sc")
    x = _x((2, 6, 6, 3))
    layer(x, training=True)
    clone = SpectralConv2D.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), layer(x).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    (dict(filters=0, kernel_size=3), "filters"),
    (dict(filters=2, kernel_size=0), "kernel_size"),
    (dict(filters=2, kernel_size=3, strides=(1, 2, 3)), "strides"),
    (dict(filters=2, kernel_size=3, padding="causal"), "padding"),
    (dict(filters=2, kernel_size=3, power_iterations=0), "power_iterations")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SpectralConv2D(**kwargs)

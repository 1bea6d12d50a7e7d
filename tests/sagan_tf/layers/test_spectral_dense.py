import keras
import numpy as np
import pytest
import tensorflow as tf

from reference import l2n, power_iteration, sigma_from_u
from sagan_tf.layers import SpectralDense


def _layer(units=6, fan_in=5, seed=0):
    layer = SpectralDense(units, kernel_initializer=keras.initializers.RandomNormal(seed=seed))
    layer.build((None, fan_in))
    return layer


def test_sigma_converges_to_largest_singular_value():
    layer = _layer(12, 9)
    x = tf.random.normal((3, 9))
    for _ in range(60):
        layer(x, training=True)
    w = layer.kernel.numpy()
    s_max = np.linalg.svd(w, compute_uv=False)[0]
    np.testing.assert_allclose(float(layer.sigma()), s_max, rtol=1e-4)
    w_sn = w / float(layer.sigma())
    np.testing.assert_allclose(np.linalg.svd(w_sn, compute_uv=False)[0], 1.0, rtol=1e-4)


def test_training_call_is_one_power_iteration_and_output_matches_numpy():
    layer = _layer()
    x = np.random.RandomState(1).randn(4, 5).astype("float32")
    w, u0, b = layer.kernel.numpy(), layer.u.numpy(), layer.bias.numpy()
    sigma, u1, _ = power_iteration(w, u0)
    y = layer(x, training=True).numpy()
    np.testing.assert_allclose(layer.u.numpy(), u1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, x @ (w / sigma) + b, rtol=1e-4, atol=1e-5)


def test_inference_uses_stored_u_and_changes_nothing():
    layer = _layer()
    layer(tf.ones((2, 5)), training=True)
    w, u = layer.kernel.numpy(), layer.u.numpy()
    x = np.random.RandomState(2).randn(3, 5).astype("float32")
    y = layer(x, training=False).numpy()
    np.testing.assert_array_equal(layer.u.numpy(), u)
    np.testing.assert_array_equal(layer.kernel.numpy(), w)
    np.testing.assert_allclose(y, x @ (w / sigma_from_u(w, u)) + layer.bias.numpy(),
                               rtol=1e-4, atol=1e-5)


def test_gradient_is_that_of_w_over_u_w_v_with_u_v_constant():
    layer = _layer(7, 4)
    rng = np.random.RandomState(3)
    x = rng.randn(5, 4).astype("float32")
    r = rng.randn(5, 7).astype("float32")
    w, u0 = layer.kernel.numpy().astype(np.float64), layer.u.numpy()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=True) * r)
    grad = tape.gradient(loss, layer.kernel).numpy()
    # Explicit: L = <x W / sigma, R>, sigma = v W u^T with u, v constant
    #   dL/dW = x^T R / sigma - <x W, R> / sigma^2 * v^T u
    v = l2n(u0 @ w.T)
    u1 = l2n(v @ w)
    sigma = float((v @ w @ u1.T).item())
    expected = x.T @ r / sigma - np.sum((x @ w) * r) / sigma ** 2 * (v.T @ u1)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5)
    assert not layer.u.trainable


@pytest.mark.parametrize("policy", ["mixed_bfloat16", "mixed_float16"])
def test_mixed_precision_power_iteration_in_float32(policy):
    layer = SpectralDense(8, dtype=policy)
    y = layer(tf.random.normal((2, 4)), training=True)
    assert y.dtype == layer.compute_dtype
    assert layer.kernel.dtype == "float32" and layer.u.dtype == "float32"
    w = layer.kernel.numpy()
    np.testing.assert_allclose(float(layer.sigma()), sigma_from_u(w, layer.u.numpy()),
                               rtol=1e-5)


def test_config_round_trip():
    layer = SpectralDense(3, use_bias=False, power_iterations=2, name="sd")
    clone = SpectralDense.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()


@pytest.mark.parametrize("kwargs", [dict(units=0), dict(units=3, power_iterations=0)])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match="must be a positive integer"):
        SpectralDense(**kwargs)

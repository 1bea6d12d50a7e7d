import numpy as np
import tensorflow as tf

from sagan_tf.layers.custom_kernel_gradient import with_kernel_gradient


def test_kernel_gradient_is_the_function_and_input_gradient_is_autodiffs():
    """y = x @ stop_gradient(k) with dL/dk from a function: dL/dx stays autodiff's
    (dy k^T), dL/dk is what the function returns (here x^T dy, so both equal the
    plain autodiff of x @ k), cast to k's dtype."""
    calls = []

    def kernel_gradient(x, dy):
        calls.append(1)
        return tf.matmul(x, dy, transpose_a=True)

    attach = with_kernel_gradient(kernel_gradient)
    rng = np.random.RandomState(0)
    x = tf.constant(rng.randn(4, 3).astype("float32"))
    k = tf.constant(rng.randn(3, 2).astype("float64"))
    r = tf.constant(rng.randn(4, 2).astype("float32"))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, k])
        y = attach(tf.matmul(x, tf.stop_gradient(tf.cast(k, "float32"))), x, k)
        loss = tf.reduce_sum(y * r)
    dx, dk = tape.gradient(loss, [x, k])
    assert calls and dk.dtype == tf.float64
    np.testing.assert_allclose(y.numpy(), x.numpy() @ k.numpy(), rtol=1e-5)
    np.testing.assert_allclose(dx.numpy(), r.numpy() @ k.numpy().T, rtol=1e-5)
    np.testing.assert_allclose(dk.numpy(), x.numpy().T @ r.numpy(), rtol=1e-5)

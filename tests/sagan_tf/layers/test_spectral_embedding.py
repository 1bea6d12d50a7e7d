import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from reference import l2n, power_iteration, sigma_from_u
from sagan_tf.layers import SpectralEmbedding


def _layer(input_dim=7, output_dim=5, seed=0, **kwargs):
    layer = SpectralEmbedding(
        input_dim, output_dim,
        embeddings_initializer=keras.initializers.RandomNormal(stddev=1.0, seed=seed),
        **kwargs)
    layer.build((None,))
    return layer


def _with_singular_values(layer, values, seed=0):
    """Sets E = U diag(values) V^T with random orthonormal U, V; returns E."""
    rng = np.random.RandomState(seed)
    n, m = layer.input_dim, layer.output_dim
    u, _ = np.linalg.qr(rng.randn(n, m))
    v, _ = np.linalg.qr(rng.randn(m, m))
    e = (u * np.asarray(values)) @ v.T
    layer.kernel.assign(e.astype("float32"))
    return e


def test_sigma_converges_to_largest_singular_value():
    layer = _layer(10, 4)
    e = _with_singular_values(layer, [3.0, 1.5, 1.0, 0.5])
    ids = tf.constant([0, 3, 9])
    for _ in range(40):
        layer(ids, training=True)
    np.testing.assert_allclose(float(layer.sigma()), 3.0, rtol=1e-5)
    np.testing.assert_allclose(float(layer.sigma()), np.linalg.svd(e, compute_uv=False)[0],
                               rtol=1e-5)
    e_sn = layer.kernel.numpy() / float(layer.sigma())
    np.testing.assert_allclose(np.linalg.svd(e_sn, compute_uv=False)[0], 1.0, rtol=1e-5)
    # The raw matrix is never overwritten.
    np.testing.assert_allclose(layer.kernel.numpy(), e, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8"])
def test_integer_ids_look_up_rows_of_normalized_matrix(dtype):
    layer = _layer()
    ids = np.array([[0, 6], [3, 3], [5, 1]], dtype)
    e, u0 = layer.kernel.numpy(), layer.u.numpy()
    sigma, u1, _ = power_iteration(e, u0)
    y = layer(tf.constant(ids), training=True).numpy()
    assert y.shape == (3, 2, 5) == layer.compute_output_shape(ids.shape)
    assert layer.u.shape == (1, 5)
    np.testing.assert_allclose(layer.u.numpy(), u1, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y, (e / sigma)[ids.astype(int)], rtol=1e-5, atol=1e-6)


def test_integer_input_in_functional_model():
    ids = keras.Input((), dtype="int32")
    layer = SpectralEmbedding(4, 3)
    model = keras.Model(ids, layer(ids))
    y = model(tf.constant([2, 0, 2]), training=False).numpy()
    e = layer.kernel.numpy()
    np.testing.assert_allclose(y, (e / sigma_from_u(e, layer.u.numpy()))[[2, 0, 2]],
                               rtol=1e-5, atol=1e-6)


def test_inference_uses_stored_u_and_changes_nothing():
    layer = _layer()
    layer(tf.constant([1]), training=True)
    e, u = layer.kernel.numpy(), layer.u.numpy()
    y = layer(tf.constant([4, 2]), training=False).numpy()
    y_default = layer(tf.constant([4, 2])).numpy()
    np.testing.assert_array_equal(layer.u.numpy(), u)
    np.testing.assert_array_equal(layer.kernel.numpy(), e)
    expected = (e / sigma_from_u(e, u))[[4, 2]]
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(y_default, expected, rtol=1e-5, atol=1e-6)


def test_gradient_reaches_looked_up_rows_plus_sigma_term_only():
    layer = _layer(6, 4)
    ids = np.array([1, 4, 1, 2])
    r = np.random.RandomState(3).randn(4, 4)
    e, u0 = layer.kernel.numpy().astype(np.float64), layer.u.numpy()
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(tf.constant(ids), training=True) * r.astype("float32"))
    grad = tf.convert_to_tensor(tape.gradient(loss, layer.kernel)).numpy()
    # L = <E / sigma, A>, A[k] = sum of the rows of R whose id is k; sigma = v E u^T with
    # u, v constant: dL/dE = A / sigma - <A, E> / sigma^2 * v^T u.
    a = np.zeros_like(e)
    np.add.at(a, ids, r)
    v = l2n(u0 @ e.T)
    u1 = l2n(v @ e)
    sigma = float((v @ e @ u1.T).item())
    sigma_term = np.sum(a * e) / sigma ** 2 * (v.T @ u1)
    expected = a / sigma - sigma_term
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-5)
    # Rows never looked up get only the sigma term, which is not zero.
    unused = [0, 3, 5]
    np.testing.assert_allclose(grad[unused], -sigma_term[unused], rtol=1e-4, atol=1e-6)
    assert np.abs(grad[unused]).max() > 1e-3
    assert [w.name for w in layer.trainable_weights] == ["embeddings"]


def test_config_round_trip_and_equal_outputs_after_copying_weights():
    layer = SpectralEmbedding(5, 3, power_iterations=3, name="emb")
    ids = tf.constant([0, 4, 2])
    layer(ids, training=True)
    clone = SpectralEmbedding.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone.build(ids.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(ids).numpy(), layer(ids).numpy(), rtol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    (dict(input_dim=0, output_dim=3), "input_dim"),
    (dict(input_dim=3, output_dim=0), "output_dim"),
    (dict(input_dim=3, output_dim=2, power_iterations=0), "power_iterations")])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SpectralEmbedding(**kwargs)


def _look_up(layer, ids, mode, training=False):
    if mode == "eager":
        return layer(tf.constant(ids), training=training)
    return tf.function(lambda i: layer(i, training=training))(tf.constant(ids))


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("bad", [7, -1, -8, 2 ** 40])
def test_id_outside_the_rows_fails_naming_it_and_the_range(bad, training, mode):
    """-1 would otherwise read the last row (`ops.take` wraps negative ids); it fails
    as input_dim does. An int64 id is not wrapped into range by a cast to int32."""
    layer = _layer()  # 7 rows
    ids = np.array([0, 6, bad], "int64")
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"indices\[2\] = {bad} is not in \[0, 7\)"):
        _look_up(layer, ids, mode, training)


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
def test_every_valid_id_reads_its_own_row(mode):
    layer = _layer()
    ids = np.array([6, 0, 1, 2, 3, 4, 5, 6], "int32")
    e = layer.kernel.numpy()
    y = _look_up(layer, ids, mode).numpy()
    np.testing.assert_allclose(y, (e / sigma_from_u(e, layer.u.numpy()))[ids], rtol=1e-5,
                               atol=1e-6)


@pytest.mark.parametrize("name", ["input_dim", "output_dim"])
@pytest.mark.parametrize("value", [True, 4.0, None])
def test_sizes_must_be_integers_not_bools_or_floats(name, value):
    kwargs = {"input_dim": 3, "output_dim": 2, name: value}
    with pytest.raises(ValueError, match=re.escape(
            f"`{name}` must be a positive integer. Received: {name}={value}")):
        SpectralEmbedding(**kwargs)

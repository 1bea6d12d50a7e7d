import keras
import numpy as np
import pytest
import tensorflow as tf

from reference import batch_norm_train
from sagan_tf.layers import BatchNorm
from sagan_tf import compat  # MirroredStrategies with fresh collective keys

C = 6


@pytest.fixture(params=[True, False], ids=["fused", "plain"])
def fused(request):
    return request.param


def _data(n=6, seed=1):
    rng = np.random.RandomState(seed)
    return (rng.randn(n, 5, 3, C) * rng.uniform(0.5, 3.0, C) + rng.randn(C)).astype("float32")


def _layer(fused, seed=0, **kwargs):
    layer = BatchNorm(fused=fused, **kwargs)
    layer.build((None, 5, 3, C))
    rng = np.random.RandomState(seed)
    layer.gamma.assign(rng.uniform(0.5, 2.0, C).astype("float32"))
    layer.beta.assign(rng.randn(C).astype("float32"))
    return layer


def test_training_uses_batch_statistics_and_updates_moving_averages(fused):
    layer = _layer(fused, momentum=0.9, epsilon=1e-3)
    x = _data()
    y = layer(tf.constant(x), training=True).numpy()
    x_hat, mean, var = batch_norm_train(x, 1e-3)
    np.testing.assert_allclose(y, layer.gamma.numpy() * x_hat + layer.beta.numpy(),
                               rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.moving_mean.numpy(), 0.1 * mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(layer.moving_variance.numpy(), 0.9 + 0.1 * var, rtol=1e-4,
                               atol=1e-5)


def test_inference_uses_moving_averages(fused):
    layer = _layer(fused, epsilon=1e-5)
    rng = np.random.RandomState(2)
    mean, var = rng.randn(C).astype("float32"), rng.uniform(0.2, 4.0, C).astype("float32")
    layer.moving_mean.assign(mean)
    layer.moving_variance.assign(var)
    x = _data()
    y = layer(tf.constant(x), training=False).numpy()
    expected = layer.gamma.numpy() * (x - mean) / np.sqrt(var + 1e-5) + layer.beta.numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_without_center_and_scale_it_only_normalizes(fused):
    layer = BatchNorm(fused=fused, center=False, scale=False, epsilon=1e-3)
    x = _data()
    y = layer(tf.constant(x), training=True).numpy()
    np.testing.assert_allclose(y, batch_norm_train(x, 1e-3)[0], rtol=1e-4, atol=1e-4)
    assert [w.name for w in layer.weights] == ["moving_mean", "moving_variance"]


@pytest.mark.parametrize("policy, tol", [("float32", 1e-5), ("mixed_bfloat16", 3e-2)])
def test_fused_equals_keras_batch_normalization(policy, tol):
    """Values, gradients and moving averages against Keras' own layer."""
    x = tf.constant(_data())
    if policy == "mixed_bfloat16":
        x = tf.cast(x, "bfloat16")
    r = tf.cast(tf.constant(np.random.RandomState(4).randn(*x.shape)), x.dtype)
    layers = [BatchNorm(dtype=policy), keras.layers.BatchNormalization(dtype=policy)]
    for layer in layers:
        layer.build(x.shape)
    layers[1].set_weights(layers[0].get_weights())
    layers[0].gamma.assign(np.linspace(0.5, 2.0, C).astype("float32"))
    layers[1].gamma.assign(np.linspace(0.5, 2.0, C).astype("float32"))
    outs = []
    for layer in layers:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x, training=True)
            loss = tf.reduce_sum(tf.cast(y * r, "float32"))
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        assert y.dtype == x.dtype
        outs.append([y, *grads, layer.moving_mean, layer.moving_variance,
                     layer(x, training=False)])
    for a, b in zip(*outs):
        a, b = (np.asarray(tf.cast(tf.convert_to_tensor(t), "float32")) for t in (a, b))
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol * max(1.0, np.abs(b).max()))


def _finite_difference_grads(f, arrays, h=1e-5):
    """Central differences of the float64 scalar f(*arrays) w.r.t. each array."""
    grads = []
    for a in arrays:
        g = np.zeros_like(a)
        for i in np.ndindex(a.shape):
            old = a[i]
            a[i] = old + h
            up = f(*arrays)
            a[i] = old - h
            down = f(*arrays)
            a[i] = old
            g[i] = (up - down) / (2 * h)
        grads.append(g)
    return grads


def _grads_of_scale_and_shift(layer, x, gamma, beta, r):
    x, gamma, beta = (tf.constant(t) for t in (x, gamma, beta))
    with tf.GradientTape() as tape:
        tape.watch([x, gamma, beta])
        y = layer.scale_and_shift(x, True, gamma, beta)
        loss = tf.reduce_sum(tf.cast(y, "float32") * r)
    return [np.asarray(tf.cast(g, "float32")) for g in tape.gradient(loss, [x, gamma, beta])]


@pytest.mark.parametrize("per_example", [False, True], ids=["gain_per_channel",
                                                             "gain_per_example"])
def test_training_gradient_equals_finite_differences(per_example):
    """The closed-form backward pass against central differences of a NumPy forward."""
    n = 3
    x = _data(n=n, seed=5).astype("float64")
    rng = np.random.RandomState(6)
    shape = (n, C) if per_example else (C,)
    gamma, beta = rng.uniform(0.5, 2.0, shape), rng.randn(*shape)
    r = rng.randn(*x.shape)
    expand = (lambda t: t[:, None, None, :]) if per_example else (lambda t: t)

    def loss(x, gamma, beta):
        return np.sum((expand(gamma) * batch_norm_train(x, 1e-3)[0] + expand(beta)) * r)

    expected = _finite_difference_grads(loss, [x, gamma, beta])
    layer = BatchNorm(epsilon=1e-3, center=False, scale=False)
    layer.build(x.shape)
    got = _grads_of_scale_and_shift(layer, x.astype("float32"), gamma.astype("float32"),
                                    beta.astype("float32"), r.astype("float32"))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-3, atol=1e-3 * np.abs(e).max())


def test_bfloat16_gradient_keeps_its_digits_under_a_large_mean():
    """mean 40, std 1: sums of dL/dy * x in bfloat16 would lose the centred part
    (spacing 0.25 at 40); the gradient is taken around mu and stays accurate."""
    rng = np.random.RandomState(7)
    x = (40.0 + rng.randn(8, 4, 4, C)).astype("float32")
    xb = tf.cast(tf.constant(x), "bfloat16")
    x_seen = tf.cast(xb, "float64").numpy()
    gamma, beta = rng.uniform(0.5, 2.0, C), rng.randn(C)
    r = rng.randn(*x.shape)
    x_hat = batch_norm_train(x_seen, 1e-5)[0]
    # Closed form of the float64 gradient (checked against finite differences above).
    g = r * gamma
    var = x_seen.var(axis=(0, 1, 2))
    dx = (g - g.mean(axis=(0, 1, 2)) - x_hat * (g * x_hat).mean(axis=(0, 1, 2))) / np.sqrt(
        var + 1e-5)
    expected = [dx, (r * x_hat).sum(axis=(0, 1, 2)), r.sum(axis=(0, 1, 2))]
    layer = BatchNorm(center=False, scale=False, dtype="mixed_bfloat16")
    layer.build(x.shape)
    got = _grads_of_scale_and_shift(layer, xb, gamma.astype("float32"),
                                    beta.astype("float32"), r.astype("float32"))
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, atol=2e-2 * np.abs(e).max())


def test_synchronized_uses_global_batch_statistics_across_replicas():
    strategy = compat.mirrored_strategy(["/cpu:0", "/cpu:1"])
    x = _data()
    with strategy.scope():
        layer = _layer(True, synchronized=True, epsilon=1e-3)
    halves = [x[:3], x[3:]]
    inputs = strategy.experimental_distribute_values_from_function(
        lambda ctx: tf.constant(halves[ctx.replica_id_in_sync_group]))

    @tf.function
    def run(inputs):
        return strategy.run(lambda a: layer(a, training=True), args=(inputs,))

    y = np.concatenate([o.numpy() for o in strategy.experimental_local_results(run(inputs))])
    expected = layer.gamma.numpy() * batch_norm_train(x, 1e-3)[0] + layer.beta.numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs", [{"axis": 1}, {"renorm": True}])
def test_other_axis_or_renorm_is_refused(kwargs):
    with pytest.raises(ValueError, match="normalizes the last axis"):
        BatchNorm(**kwargs)


def test_config_round_trip():
    layer = _layer(False, momentum=0.8, epsilon=1e-3, synchronized=True, name="bn")
    x = tf.constant(_data())
    layer(x, training=True)
    clone = BatchNorm.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config() and clone.fused is False
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), layer(x).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("kwargs,match", [
    (dict(momentum=1.0), r"`momentum` must be a number in \[0, 1\). Received: momentum=1.0"),
    (dict(momentum=1.5), r"`momentum` must be a number in \[0, 1\)"),
    (dict(momentum=-0.01), r"`momentum` must be a number in \[0, 1\)"),
    (dict(momentum=True), r"Received: momentum=True"),
    (dict(momentum="0.9"), r"`momentum` must be a number"),
    (dict(epsilon=-1e-3), r"`epsilon` must be a finite number >= 0. Received: epsilon=-0.001"),
    (dict(epsilon=float("nan")), "`epsilon` must be a finite number >= 0"),
    (dict(epsilon=None), "`epsilon` must be a finite number >= 0"),
])
def test_momentum_outside_0_1_and_negative_epsilon_are_refused(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BatchNorm(**kwargs)


def test_momentum_zero_and_epsilon_zero_are_accepted():
    layer = BatchNorm(momentum=0.0, epsilon=0.0)
    assert (layer.momentum, layer.epsilon) == (0.0, 0.0)
    assert BatchNorm(momentum=np.float32(0.9)).momentum == np.float32(0.9)

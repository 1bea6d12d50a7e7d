import re

import numpy as np
import pytest
import tensorflow as tf

from reference import batch_norm_train, cbn_inference, cbn_train
from sagan_tf.layers import ConditionalBatchNorm
from sagan_tf import compat  # MirroredStrategies with fresh collective keys

K, C = 4, 6


@pytest.fixture(params=[True, False], ids=["fused", "plain"])
def fused(request):
    """Both code paths are checked against the NumPy reference."""
    return request.param


def _layer(seed=0, **kwargs):
    """A built layer whose per-class gains and biases are random (not 1 and 0)."""
    layer = ConditionalBatchNorm(K, **kwargs)
    layer.build([(None, 5, 3, C), (None,)])
    rng = np.random.RandomState(seed)
    layer.gamma.assign(rng.uniform(0.5, 2.0, (K, C)).astype("float32"))
    layer.beta.assign(rng.randn(K, C).astype("float32"))
    return layer


def _data(n=6, seed=1):
    rng = np.random.RandomState(seed)
    x = (rng.randn(n, 5, 3, C) * rng.uniform(0.5, 3.0, C) + rng.randn(C)).astype("float32")
    labels = np.array([0, 2, 2, 3, 0, 1][:n], "int32")
    return x, labels


def test_weights_gain_one_bias_zero_and_no_spectral_norm():
    layer = ConditionalBatchNorm(K)
    layer.build([(None, 5, 3, C), (None,)])
    np.testing.assert_array_equal(layer.gamma.numpy(), np.ones((K, C)))
    np.testing.assert_array_equal(layer.beta.numpy(), np.zeros((K, C)))
    assert sorted(w.name for w in layer.trainable_weights) == ["bias", "gain"]
    # The inner BatchNormalization has no affine terms; only moving stats besides.
    assert sorted(w.name for w in layer.non_trainable_weights) == ["moving_mean",
                                                                  "moving_variance"]
    assert not any("sn_u" in w.name for w in layer.weights)


def test_training_mode_uses_batch_statistics_and_per_class_gain_bias(fused):
    layer = _layer(epsilon=1e-3, fused=fused)
    x, labels = _data()
    y = layer([tf.constant(x), tf.constant(labels)], training=True).numpy()
    expected = cbn_train(x, labels, layer.gamma.numpy(), layer.beta.numpy(), 1e-3)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    # Per class: examples 1 and 2 share class 2, so share gain and bias.
    x_hat = batch_norm_train(x, 1e-3)[0]
    np.testing.assert_allclose(y[1], layer.gamma.numpy()[2] * x_hat[1] + layer.beta.numpy()[2],
                               rtol=1e-4, atol=1e-4)


def test_training_mode_updates_moving_statistics_with_momentum(fused):
    layer = _layer(momentum=0.9, fused=fused)
    x, labels = _data()
    layer([tf.constant(x), tf.constant(labels)], training=True)
    _, mean, var = batch_norm_train(x, 1e-5)
    bn = layer.batch_norm
    np.testing.assert_allclose(bn.moving_mean.numpy(), 0.1 * mean, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(bn.moving_variance.numpy(), 0.9 + 0.1 * var, rtol=1e-4,
                               atol=1e-5)


def test_inference_mode_uses_moving_statistics(fused):
    layer = _layer(epsilon=1e-5, fused=fused)
    rng = np.random.RandomState(2)
    mean, var = rng.randn(C).astype("float32"), rng.uniform(0.2, 4.0, C).astype("float32")
    layer.batch_norm.moving_mean.assign(mean)
    layer.batch_norm.moving_variance.assign(var)
    x, labels = _data()
    y = layer([tf.constant(x), tf.constant(labels)], training=False).numpy()
    expected = cbn_inference(x, labels, mean, var, layer.gamma.numpy(), layer.beta.numpy(),
                             1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(layer.batch_norm.moving_mean.numpy(), mean)


def test_gradient_reaches_only_the_rows_of_present_classes(fused):
    layer = _layer(fused=fused)
    x, labels = _data(n=4)  # classes 0, 2, 2, 3: class 1 absent
    r = np.random.RandomState(3).randn(*x.shape).astype("float32")
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer([tf.constant(x), tf.constant(labels)], training=True) * r)
    g_gain, g_bias = tape.gradient(loss, [layer.gamma, layer.beta])
    g_gain = tf.convert_to_tensor(g_gain).numpy()
    g_bias = tf.convert_to_tensor(g_bias).numpy()
    x_hat = batch_norm_train(x, 1e-5)[0]
    exp_gain, exp_bias = np.zeros((K, C)), np.zeros((K, C))
    np.add.at(exp_gain, labels, (x_hat * r).sum(axis=(1, 2)))
    np.add.at(exp_bias, labels, r.sum(axis=(1, 2)))
    np.testing.assert_allclose(g_gain, exp_gain, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(g_bias, exp_bias, rtol=1e-4, atol=1e-4)
    np.testing.assert_array_equal(g_gain[1], 0.0)


@pytest.mark.parametrize("synchronized", [True, False])
def test_synchronized_uses_global_batch_statistics_across_replicas(synchronized, fused):
    strategy = compat.mirrored_strategy(["/cpu:0", "/cpu:1"])
    x, labels = _data()
    with strategy.scope():
        layer = _layer(synchronized=synchronized, fused=fused)
    halves = [(x[:3], labels[:3]), (x[3:], labels[3:])]
    inputs = strategy.experimental_distribute_values_from_function(
        lambda ctx: tuple(tf.constant(t) for t in halves[ctx.replica_id_in_sync_group]))

    @tf.function
    def run(inputs):
        return strategy.run(lambda a: layer([a[0], a[1]], training=True), args=(inputs,))

    out = strategy.experimental_local_results(run(inputs))
    y = np.concatenate([o.numpy() for o in out])
    gain, bias = layer.gamma.numpy(), layer.beta.numpy()
    if synchronized:
        expected = cbn_train(x, labels, gain, bias, 1e-5)
    else:
        expected = np.concatenate([cbn_train(a, b, gain, bias, 1e-5) for a, b in halves])
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("labels_shape", [(6, 1), (), (6, 2)])
def test_labels_of_wrong_rank(labels_shape):
    layer = ConditionalBatchNorm(K)
    labels = tf.zeros(labels_shape, "int32")
    with pytest.raises(ValueError, match="1D int tensor"):
        layer([tf.zeros((6, 5, 3, C)), labels])


def test_labels_of_wrong_rank_after_build():
    """A built layer must not broadcast [1, 2] labels into a batch of 2."""
    layer = ConditionalBatchNorm(K)
    layer([tf.zeros((1, 5, 3, C)), tf.zeros((1,), "int32")])
    with pytest.raises(ValueError, match="1D int tensor"):
        layer([tf.zeros((1, 5, 3, C)), tf.zeros((1, 2), "int32")])


def test_called_without_labels():
    with pytest.raises(ValueError, match=r"called on `\[x, labels\]`"):
        ConditionalBatchNorm(K)(tf.zeros((2, 4, 4, C)))


@pytest.mark.parametrize("num_classes", [0, -3, 2.0, None])
def test_num_classes_must_be_positive_int(num_classes):
    with pytest.raises(ValueError, match="num_classes"):
        ConditionalBatchNorm(num_classes)


def test_config_round_trip_and_equal_outputs_after_copying_weights():
    layer = _layer(momentum=0.8, epsilon=1e-3, synchronized=True, fused=False, name="cbn")
    x, labels = _data()
    inputs = [tf.constant(x), tf.constant(labels)]
    layer(inputs, training=True)
    clone = ConditionalBatchNorm.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone.build([x.shape, labels.shape])
    clone.set_weights(layer.get_weights())
    np.testing.assert_allclose(clone(inputs, training=False).numpy(),
                               layer(inputs, training=False).numpy(), rtol=1e-6, atol=1e-6)


def _fused_and_plain(policy):
    layers = []
    for fused in (True, False):
        layer = ConditionalBatchNorm(K, fused=fused, dtype=policy)
        layer.build([(None, 5, 3, C), (None,)])
        layers.append(layer)
    rng = np.random.RandomState(0)
    for layer in layers:  # same random gains and biases in both
        layer.gamma.assign(rng.uniform(0.5, 2.0, (K, C)).astype("float32"))
        layer.beta.assign(rng.randn(K, C).astype("float32"))
        rng.seed(0)
    return layers


@pytest.mark.parametrize("policy, tol", [("float32", 1e-5), ("mixed_bfloat16", 3e-2)])
def test_fused_path_equals_plain_path_in_values_gradients_and_statistics(policy, tol):
    x, labels = _data()
    x = tf.constant(x, "bfloat16" if policy == "mixed_bfloat16" else "float32")
    r = tf.constant(np.random.RandomState(4).randn(*x.shape), x.dtype)
    outs = []
    for layer in _fused_and_plain(policy):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer([x, tf.constant(labels)], training=True)
            loss = tf.reduce_sum(tf.cast(y * r, "float32"))
        grads = tape.gradient(loss, [x, layer.gamma, layer.beta])
        assert y.dtype == x.dtype
        outs.append([y] + [tf.convert_to_tensor(g) for g in grads]
                    + [layer.batch_norm.moving_mean, layer.batch_norm.moving_variance])
        outs[-1].append(layer([x, tf.constant(labels)], training=False))
    for fused_t, plain_t in zip(*outs):
        fused_t, plain_t = (np.asarray(tf.cast(t, "float32")) for t in (fused_t, plain_t))
        scale = max(1.0, np.abs(plain_t).max())
        np.testing.assert_allclose(fused_t, plain_t, atol=tol * scale, rtol=tol)


def test_fused_statistics_are_float32_under_mixed_bfloat16():
    """The moving averages get float32 batch moments, not moments of bfloat16 values."""
    layer = ConditionalBatchNorm(K, momentum=0.0, dtype="mixed_bfloat16")
    x, labels = _data()
    x = x + 300.0  # large mean: bfloat16 moments would be off by ~1 in the mean
    xb = tf.cast(tf.constant(x), "bfloat16")
    layer([xb, tf.constant(labels)], training=True)
    x_seen = tf.cast(xb, "float32").numpy().astype("float64")
    assert layer.batch_norm.moving_mean.dtype == "float32"
    np.testing.assert_allclose(layer.batch_norm.moving_mean.numpy(),
                               x_seen.mean(axis=(0, 1, 2)), rtol=1e-6)
    np.testing.assert_allclose(layer.batch_norm.moving_variance.numpy(),
                               x_seen.var(axis=(0, 1, 2)), rtol=1e-4)


def _run(layer, x, labels, training, mode):
    """The layer's call eagerly or traced into a graph (a `tf.function`, as in fit)."""
    if mode == "eager":
        return layer([tf.constant(x), tf.constant(labels)], training=training)
    return tf.function(lambda a, b: layer([a, b], training=training))(
        tf.constant(x), tf.constant(labels))


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("bad", [K, -1, -K - 1])
def test_label_outside_the_classes_fails_naming_it_and_the_range(bad, training, mode, fused):
    """-1 would otherwise read class K - 1's gain and bias (`ops.take` wraps negative
    ids); it fails as K does, in the gather, with the label and [0, K) named."""
    layer = _layer(fused=fused)
    x, labels = _data()
    labels[3] = bad
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"indices\[3\] = {bad} is not in \[0, {K}\)"):
        _run(layer, x, labels, training, mode)


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
@pytest.mark.parametrize("dtype", ["int32", "int64"])
def test_every_valid_label_reads_its_own_row(mode, dtype, fused):
    layer = _layer(fused=fused)
    rng = np.random.RandomState(2)
    mean, var = rng.randn(C).astype("float32"), rng.uniform(0.2, 4.0, C).astype("float32")
    layer.batch_norm.moving_mean.assign(mean)
    layer.batch_norm.moving_variance.assign(var)
    x, _ = _data()
    labels = np.array([K - 1, 0, 1, 2, K - 1, 3], dtype)  # the first and last rows too
    y = _run(layer, x, labels, False, mode).numpy()
    expected = cbn_inference(x, labels, mean, var, layer.gamma.numpy(), layer.beta.numpy(),
                             1e-5)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("num_classes", [True, False, 10.0, "10", np.float32(3)])
def test_num_classes_must_be_an_integer_not_a_bool_or_float(num_classes):
    with pytest.raises(ValueError, match=re.escape(
            f"`num_classes` must be a positive integer. Received: num_classes={num_classes}")):
        ConditionalBatchNorm(num_classes)


def test_numpy_integer_num_classes_is_stored_as_int():
    layer = ConditionalBatchNorm(np.int64(K))
    assert type(layer.num_classes) is int and layer.get_config()["num_classes"] == K


@pytest.mark.parametrize("kwargs,match", [
    (dict(momentum=1.0), r"`momentum` must be a number in \[0, 1\). Received: momentum=1.0"),
    (dict(momentum=-0.1), r"`momentum` must be a number in \[0, 1\)"),
    (dict(momentum=float("nan")), r"`momentum` must be a number in \[0, 1\)"),
    (dict(epsilon=-1e-5), r"`epsilon` must be a finite number >= 0. Received: epsilon=-1e-05"),
    (dict(epsilon=float("inf")), "`epsilon` must be a finite number >= 0"),
])
def test_momentum_and_epsilon_are_checked(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConditionalBatchNorm(K, **kwargs)


def _sn_linear_layer(seed=0, **kwargs):
    """A built "sn_linear" layer with random (not orthogonal) offset matrices."""
    layer = ConditionalBatchNorm(K, class_affine="sn_linear", **kwargs)
    layer.build([(None, 5, 3, C), (None,)])
    rng = np.random.RandomState(seed)
    for sub in (layer.gamma_offset, layer.beta_linear):
        sub.kernel.assign(rng.randn(K, C).astype("float32"))
    return layer


def test_sn_linear_starts_at_orthogonal_offsets_and_has_no_tables():
    layer = ConditionalBatchNorm(K, class_affine="sn_linear")
    layer.build([(None, 5, 3, C), (None,)])
    assert not hasattr(layer, "gamma") and not hasattr(layer, "beta")
    for sub in (layer.gamma_offset, layer.beta_linear):
        w = sub.kernel.numpy()
        # K <= C: the rows are orthonormal, so every class has its own unit offset.
        np.testing.assert_allclose(w @ w.T, np.eye(K), atol=1e-5)
    assert sorted(w.name for w in layer.trainable_weights) == ["embeddings", "embeddings"]


def test_sn_linear_inference_is_one_plus_the_normalized_row_and_the_normalized_row(fused):
    from reference import sn_kernel

    layer = _sn_linear_layer(fused=fused)
    x, labels = _data()
    bn = layer.batch_norm
    bn.moving_mean.assign(np.linspace(-1, 1, C).astype("float32"))
    bn.moving_variance.assign(np.linspace(0.5, 2, C).astype("float32"))
    y = layer([tf.constant(x), tf.constant(labels)], training=False).numpy()
    gain = 1.0 + sn_kernel(layer.gamma_offset)
    bias = sn_kernel(layer.beta_linear)
    expected = cbn_inference(np.float64(x), labels, bn.moving_mean.numpy(),
                             bn.moving_variance.numpy(), gain, bias, layer.epsilon)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_sn_linear_offsets_have_norm_at_most_one_once_the_power_iteration_converged():
    from reference import sn_kernel

    layer = _sn_linear_layer()
    x, labels = _data()
    for _ in range(30):  # each training call is one power iteration
        layer([tf.constant(x), tf.constant(labels)], training=True)
    for sub in (layer.gamma_offset, layer.beta_linear):
        w = sn_kernel(sub)
        # ||row c||_2 = ||onehot(c) W_SN|| <= sigma_max(W_SN) = 1, reached by the top row.
        assert np.isclose(np.linalg.svd(w, compute_uv=False)[0], 1.0, atol=1e-4)
        assert np.linalg.norm(w, axis=1).max() <= 1.0 + 1e-4


def test_sn_linear_training_uses_batch_statistics_after_one_power_iteration(fused):
    from reference import power_iteration

    layer = _sn_linear_layer(fused=fused, epsilon=1e-3)
    x, labels = _data()
    normalized = []
    for sub in (layer.gamma_offset, layer.beta_linear):
        sigma, _, _ = power_iteration(sub.kernel.numpy(), sub.u.numpy())
        normalized.append(sub.kernel.numpy() / sigma)
    y = layer([tf.constant(x), tf.constant(labels)], training=True).numpy()
    expected = cbn_train(x, labels, 1.0 + normalized[0], normalized[1], 1e-3)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_class_affine_is_checked_and_in_the_config():
    with pytest.raises(ValueError, match="`class_affine` must be one of"):
        ConditionalBatchNorm(K, class_affine="linear")
    layer = ConditionalBatchNorm(K, class_affine="sn_linear", power_iterations=2)
    config = layer.get_config()
    assert config["class_affine"] == "sn_linear" and config["power_iterations"] == 2
    assert ConditionalBatchNorm.from_config(config).class_affine == "sn_linear"

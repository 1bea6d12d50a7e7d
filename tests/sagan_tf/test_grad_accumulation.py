"""Gradient accumulation: the helper against NumPy sums, and SAGAN's D and G updates
with K = 2 micro-batches of B against K = 1 on the batch of 2B (same data, same z).

Two things legitimately differ between the two: batch-norm statistics (per
micro-batch) and the spectral-norm power iteration (one step per training call, so K
times as many). The comparisons start every update from u vectors at the exact
singular vectors (NumPy's SVD), where a power-iteration step changes nothing, and use a
generator without batch norm for the 2B comparison; G with batch norm is compared
with an independent per-micro-batch computation."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sagan_tf
from noise_reference import documented_z
from sagan_tf import grad_accumulation
from sagan_tf.layers import SpectralDense
from sagan_tf.sagan import SAGAN

NUM_CLASSES, LATENT, B = 10, 16, 4
SEED = 1


def test_accumulate_sums_gradients_and_outputs_over_equal_slices():
    x = tf.constant(np.arange(12, dtype=np.float32).reshape(6, 2))
    w = tf.Variable([1.0, -2.0])
    e = tf.Variable(np.ones((5, 2), np.float32))
    ids = tf.constant([0, 3, 3, 1, 4, 0])
    seen = []

    def step(m, xs, ids_m):
        seen.append(m)
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(xs * w) + tf.reduce_sum(tf.gather(e, ids_m))
        gw, ge = tape.gradient(loss, [w, e])
        assert isinstance(ge, tf.IndexedSlices)
        return [gw, ge, None], {"loss": loss}

    grads, out = grad_accumulation.accumulate(step, [x, ids], 3)
    assert seen == [0, 1, 2]
    np.testing.assert_allclose(grads[0].numpy(), x.numpy().sum(axis=0))
    counts = np.bincount(ids.numpy(), minlength=5).astype(np.float32)
    np.testing.assert_allclose(grads[1].numpy(), np.repeat(counts[:, None], 2, axis=1))
    assert grads[2] is None
    np.testing.assert_allclose(float(out["loss"]),
                               (x.numpy() * w.numpy()).sum() + 2 * len(ids))
    # K = 1 is the step itself, on the whole inputs.
    grads_1, out_1 = grad_accumulation.accumulate(step, [x, ids], 1)
    assert seen[-1] == 0 and isinstance(grads_1[1], tf.IndexedSlices)
    np.testing.assert_allclose(float(out_1["loss"]), float(out["loss"]), rtol=1e-6)


def test_global_norm_is_in_units_of_the_unscaled_loss():
    grads = [tf.constant([3.0, 0.0]), None, tf.constant([[4.0]])]
    assert float(grad_accumulation.global_norm(grads, keras.optimizers.SGD())) == 5.0
    scaled = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD())
    scaled.build([tf.Variable(1.0)])
    scale = float(scaled.dynamic_scale.numpy())
    assert scale > 1
    np.testing.assert_allclose(
        float(grad_accumulation.global_norm([g * scale if g is not None else None
                                             for g in grads], scaled)), 5.0, rtol=1e-6)


def _bn_free_generator():
    """[z, labels] -> 32x32x3 images without batch norm: a spectrally normalized dense
    layer on z plus a class embedding (whose gradient is an IndexedSlices)."""
    z = keras.Input((LATENT,))
    labels = keras.Input((), dtype="int32")
    h = keras.layers.Add()([z, keras.layers.Embedding(NUM_CLASSES, LATENT)(labels)])
    x = SpectralDense(32 * 32 * 3)(h)
    x = keras.layers.Activation("tanh")(keras.layers.Reshape((32, 32, 3))(x))
    return keras.Model([z, labels], x, name="generator")


def _models(generator_factory, accumulations):
    """SAGANs with the same initial weights, one per K, SGD updates."""
    models = []
    for k in accumulations:
        keras.utils.set_random_seed(0)
        g = generator_factory()
        d = sagan_tf.build_discriminator("sagan32", NUM_CLASSES, channels=[8, 8, 8, 8])
        for layer in d.layers:
            if isinstance(layer, sagan_tf.layers.SelfAttention):
                layer.gamma.assign(0.3)  # the attention branch takes part
        model = SAGAN(g, d, seed=SEED)
        model.compile(keras.optimizers.SGD(0.05), keras.optimizers.SGD(0.05), grad_accum=k)
        models.append(model)
    return models


def _converge_power_iteration(network):
    """Sets every spectral-norm u to the top right singular vector of its kernel."""
    weights = {w.path: w for w in network.weights}
    for path, u in weights.items():
        if path.endswith("/sn_u"):
            prefix = path[:-len("sn_u")]
            kernel = weights.get(prefix + "kernel", weights.get(prefix + "embeddings"))
            w = kernel.numpy().reshape(-1, kernel.shape[-1])
            top = np.linalg.svd(w.astype(np.float64))[2][0]
            u.assign(top[None].astype(np.float32))


def _batch(n):
    rng = np.random.RandomState(0)
    return (tf.constant(rng.uniform(-1, 1, (n, 32, 32, 3)).astype("float32")),
            tf.constant(rng.randint(0, NUM_CLASSES, n).astype("int32")))


def _assert_same(a, b, rtol=2e-5, atol=2e-6):
    for wa, wb in zip(a.weights, b.weights):
        np.testing.assert_allclose(wa.numpy(), wb.numpy(), rtol=rtol, atol=atol,
                                   err_msg=wa.path)


def test_two_micro_batches_update_d_and_g_as_one_batch_of_twice_the_size():
    accumulated, whole = _models(_bn_free_generator, (2, 1))
    images, labels = _batch(2 * B)
    d_start = [w.numpy() for w in whole.discriminator.trainable_variables]
    for model in (accumulated, whole):
        _converge_power_iteration(model.discriminator)
        _converge_power_iteration(model.generator)
    outs = [m._d_step(images, labels, 0) for m in (accumulated, whole)]
    for a, b in zip(*outs):
        np.testing.assert_allclose(float(a), float(b), rtol=1e-5, atol=1e-6)
    _assert_same(accumulated.discriminator, whole.discriminator)
    moved = max(np.abs(w.numpy() - w0).max()
                for w, w0 in zip(whole.discriminator.trainable_variables, d_start))
    assert moved > 1e-3  # the update is not a no-op
    g_start = [w.numpy() for w in whole.generator.trainable_variables]
    for model in (accumulated, whole):  # D moved: u at the new singular vectors again
        _converge_power_iteration(model.discriminator)
    g_losses = [float(m._g_step(labels)) for m in (accumulated, whole)]
    np.testing.assert_allclose(g_losses[0], g_losses[1], rtol=1e-5, atol=1e-6)
    _assert_same(accumulated.generator, whole.generator)
    moved = max(np.abs(w.numpy() - w0).max()
                for w, w0 in zip(whole.generator.trainable_variables, g_start))
    assert moved > 1e-4
    # Each update is applied once, whatever K.
    assert int(accumulated.d_optimizer.iterations) == int(whole.d_optimizer.iterations) == 1


def test_g_with_batch_norm_sums_the_gradients_of_each_micro_batch():
    """Batch-norm statistics are per micro-batch: G's update with K = 2 is SGD on the
    sum of the gradients of the two halves computed apart (an independent tape on
    copies), each with its rows of the z drawn for the whole batch."""
    def generator():
        return sagan_tf.build_generator("sagan32", NUM_CLASSES, channels=[8, 8, 8],
                                        latent_dim=LATENT)
    (model,) = _models(generator, (2,))
    _converge_power_iteration(model.generator)
    _converge_power_iteration(model.discriminator)
    g = keras.models.clone_model(model.generator)
    g.set_weights(model.generator.get_weights())
    d = keras.models.clone_model(model.discriminator)
    d.set_weights(model.discriminator.get_weights())
    _, labels = _batch(2 * B)
    z = documented_z(SEED, 2 * B, LATENT, stream=1)  # step 0, G's update: 1 + 16*0 + 0
    total = None
    for m in range(2):
        rows = slice(m * B, (m + 1) * B)
        with tf.GradientTape() as tape:
            fake = g([tf.constant(z[rows]), labels[rows]], training=True)
            loss = -tf.reduce_sum(d([fake, labels[rows]], training=True)) / (2 * B)
        grads = [tf.convert_to_tensor(x) for x in tape.gradient(loss, g.trainable_variables)]
        total = grads if total is None else [a + b for a, b in zip(total, grads)]
    for w, grad in zip(g.trainable_variables, total):
        w.assign(w - 0.05 * grad)
    model._g_step(labels)
    for a, e in zip(model.generator.trainable_variables, g.trainable_variables):
        np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=2e-5, atol=2e-6, err_msg=a.path)
    # The whole-batch statistics would give another update: the test can tell them apart.
    (whole,) = _models(generator, (1,))
    _converge_power_iteration(whole.generator)
    _converge_power_iteration(whole.discriminator)
    whole._g_step(labels)
    diff = max(np.abs(a.numpy() - b.numpy()).max() for a, b in
               zip(whole.generator.trainable_variables, model.generator.trainable_variables))
    assert diff > 1e-5


def test_grad_accum_must_be_a_positive_integer():
    (model,) = _models(_bn_free_generator, (1,))
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="`grad_accum` must be a positive integer"):
            model.compile(grad_accum=bad)

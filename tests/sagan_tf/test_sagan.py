"""SAGAN.train_step against hand computations: SGD on the hinge losses' gradients taken
with an independent GradientTape on copies of G and D, the stateless noise formula, the
EMA formula in NumPy (one device against two replicas: test_sagan_replicas)."""

import re

import keras
import numpy as np
import pytest
import tensorflow as tf

import sagan_tf
from noise_reference import documented_z
from sagan_steps import (D_LR, G_LR, LATENT, NUM_CLASSES, SEED, assert_same_weights,
                         build_model, build_networks, copy_network, random_batch)
from sagan_tf import noise
from sagan_tf.sagan import SAGAN


def _z(n, step, k):
    """The documented noise: sagan_tf.noise's formula (SciPy, tests/noise_reference.py)
    keyed on (seed, 1 + 16 * step + k)."""
    return tf.constant(documented_z(SEED, n, LATENT, stream=1 + 16 * step + k))


def _hinge_d(real, fake):
    return (tf.reduce_mean(tf.maximum(0.0, 1.0 - real))
            + tf.reduce_mean(tf.maximum(0.0, 1.0 + fake)))


def _sgd(net, grads, lr):
    for w, g in zip(net.trainable_variables, grads):
        w.assign(w - lr * tf.convert_to_tensor(g))  # CBN gains: IndexedSlices


def _hand_step(g, d, images, labels, step, d_steps=1, mode_seeking=0.0):
    """One SAGAN iteration on the copies g and d by hand; returns (L_D of the last D
    step, L_G). Each D step takes its own slice of the batch and noise stream 1 + k.
    With `mode_seeking`, G's batch is the first half of its labels twice, and L_G adds
    mode_seeking / (mean|x_i - x_i+h| / mean|z_i - z_i+h| + 1e-5) (MSGAN)."""
    real_chunks = [tf.constant(c) for c in np.split(images.numpy(), d_steps)]
    label_chunks = [tf.constant(c) for c in np.split(labels.numpy(), d_steps)]
    for k in range(d_steps):
        n = len(label_chunks[k])
        fake = g([_z(n, step, 1 + k), label_chunks[k]], training=True)
        with tf.GradientTape() as tape:
            real_logits = d([real_chunks[k], label_chunks[k]], training=True)
            fake_logits = d([fake, label_chunks[k]], training=True)
            d_loss = _hinge_d(real_logits, fake_logits)
        _sgd(d, tape.gradient(d_loss, d.trainable_variables), D_LR)
    g_labels = label_chunks[-1].numpy()
    n, h = len(g_labels), len(g_labels) // 2
    if mode_seeking:
        g_labels = np.concatenate([g_labels[:h], g_labels[:h], g_labels[2 * h:]])
    g_labels = tf.constant(g_labels)
    z = _z(n, step, 0)
    with tf.GradientTape() as tape:
        fake = g([z, g_labels], training=True)
        g_loss = -tf.reduce_mean(d([fake, g_labels], training=True))
        if mode_seeking:
            ratio = (tf.reduce_mean(tf.abs(fake[:h] - fake[h:])) /
                     tf.reduce_mean(tf.abs(z[:h] - z[h:])))
            g_loss += mode_seeking / (ratio + 1e-5)
    _sgd(g, tape.gradient(g_loss, g.trainable_variables), G_LR)
    return float(d_loss), float(g_loss)


# (1, 0.5) covers one D step, (2, 0.0) two; (1, 0.0) repeats them and is slow.
@pytest.mark.parametrize("d_steps,mode_seeking", [
    pytest.param(1, 0.0, marks=pytest.mark.slow), (2, 0.0), (1, 0.5)])
def test_train_steps_equal_sgd_on_hand_computed_hinge_gradients(d_steps, mode_seeking):
    model = build_model(d_steps=d_steps, mode_seeking=mode_seeking)
    g, d = copy_network(model.generator), copy_network(model.discriminator)
    d0 = [w.numpy() for w in d.trainable_variables]
    start_g, start_d = g.get_weights(), d.get_weights()
    for step in range(2):
        images, labels = random_batch(8 * d_steps, seed=step)
        d_loss, g_loss = _hand_step(g, d, images, labels, step, d_steps, mode_seeking)
        logs = model.train_step((images, labels))
        model.reset_metrics()
        np.testing.assert_allclose(float(logs["d_loss"]), d_loss, rtol=1e-5)
        np.testing.assert_allclose(float(logs["g_loss"]), g_loss, rtol=1e-5, atol=1e-6)
        assert_same_weights(model.discriminator, d, start_d)
        assert_same_weights(model.generator, g, start_g)
    assert int(model.g_optimizer.iterations) == 2
    assert int(model.d_optimizer.iterations) == 2 * d_steps
    # The steps moved D: the comparison is not between two copies of the start.
    moved = max(np.abs(w.numpy() - w0).max() for w, w0 in zip(d.trainable_variables, d0))
    assert moved > 1e-3


def test_d_steps_use_separate_slices_and_noise():
    """With two D steps, D's update is not the one a single D step on the whole batch
    (or on one slice twice) would make: the split is real."""
    images, labels = random_batch(16)
    split = build_model(d_steps=2)
    split.train_step((images, labels))
    whole = build_model(d_steps=1)
    whole.train_step((images, labels))
    diff = max(np.abs(a - b).max() for a, b in zip(split.discriminator.get_weights(),
                                                   whole.discriminator.get_weights()))
    assert diff > 1e-3
    with pytest.raises(ValueError, match="d_steps_per_g_step"):
        build_model(d_steps=0)


def test_noise_is_the_stateless_formula_and_changes_with_step_and_stream():
    model = build_model()
    labels = tf.zeros([5], "int32")
    np.testing.assert_allclose(model.noise(labels, k=1).numpy(), _z(5, 0, 1).numpy(),
                               rtol=0, atol=1e-6)
    assert not np.allclose(model.noise(labels, k=0), model.noise(labels, k=1))
    model.g_optimizer.iterations.assign(3)
    np.testing.assert_allclose(model.noise(labels, k=2).numpy(), _z(5, 3, 2).numpy(),
                               rtol=0, atol=1e-6)


def test_training_noise_never_uses_the_stream_users_sample_from():
    """Iteration 0's G noise is not `latents(seed)`, which eval and serving use."""
    model = build_model()
    users = noise.latents(SEED, 5, LATENT, stream=noise.SERVING).numpy()
    assert not np.allclose(model.noise(tf.zeros([5], "int32"), k=0).numpy(), users)


@pytest.mark.parametrize("d_steps", [0, 16, True, 1.0])
def test_compile_refuses_d_steps_outside_the_noise_streams(d_steps):
    with pytest.raises(ValueError, match="d_steps_per_g_step"):
        build_model(d_steps=d_steps)


# (2, True) covers the start step and both branches of the warm-up's min in one model;
# test_weight_ema checks `decay_at` itself for every combination, so the others are slow.
@pytest.mark.parametrize("ema_start_step,ema_warmup", [
    pytest.param(0, True, marks=pytest.mark.slow), (2, True),
    pytest.param(0, False, marks=pytest.mark.slow),
    pytest.param(2, False, marks=pytest.mark.slow)])
def test_ema_follows_the_formula(ema_start_step, ema_warmup):
    # Five G steps. 0.25 lies between the warm-up's decays (1 + t) / (10 + t) at t = 1
    # (2/11) and t = 3 (4/13), so with the warm-up both branches of the min are taken;
    # with start step 2 the first two steps are copies.
    ema_decay = 0.25
    model = build_model(ema_decay=ema_decay, ema_start_step=ema_start_step,
                        ema_warmup=ema_warmup)
    paths = [w.path for w in model.generator.weights]
    shadow = [w.numpy().astype(np.float64) for w in model.generator.weights]
    for step in range(5):
        model.train_step(random_batch(8, seed=step))
        current = [w.numpy() for w in model.generator.weights]
        g_step = step + 1  # the EMA update runs after the G step
        t = g_step - ema_start_step
        decay = min(ema_decay, (1 + t) / (10 + t)) if ema_warmup else ema_decay
        for i, (path, w) in enumerate(zip(paths, current)):
            if path.endswith("sn_u") or g_step <= ema_start_step:
                shadow[i] = w.astype(np.float64)
            else:
                shadow[i] = decay * shadow[i] + (1 - decay) * w
        for path, e, w in zip(paths, model.ema_generator.weights, shadow):
            np.testing.assert_allclose(e.numpy(), w, rtol=1e-5, atol=1e-7, err_msg=path)
    # The shadow lags behind G once averaging has started: the check is not trivial.
    lag = max(np.abs(e.numpy() - w.numpy()).max() for e, w in
              zip(model.ema_generator.trainable_weights, model.generator.trainable_weights))
    assert lag > 1e-4
    assert model.sampling_generator() is model.ema_generator


@pytest.mark.parametrize("bad", [pytest.param(NUM_CLASSES, marks=pytest.mark.slow), -1])
def test_fit_refuses_a_label_outside_the_classes(bad):
    """-1 used to train as class 9 (`ops.take` wraps negative ids); now fit fails as for
    10, naming the label and the valid range. Eager steps here (a traced train step costs
    10 s of CPU); the same checks inside tf.function are tests/sagan_tf/networks' and
    layers/test_conditional_batch_norm's `tf.function` cases."""
    model = build_model()
    model.run_eagerly = True
    images, labels = random_batch(4)
    labels = tf.tensor_scatter_nd_update(labels, [[2]], [bad])
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"indices\[2\] = {bad} is not in \[0, {NUM_CLASSES}\)"):
        model.fit(tf.data.Dataset.from_tensors((images, labels)), verbose=0, shuffle=False)


def test_generator_and_discriminator_of_different_class_counts_are_refused():
    g, _ = build_networks()
    d = sagan_tf.build_discriminator("sagan32", 5, channels=[16, 16, 16, 16])
    with pytest.raises(ValueError, match=re.escape(
            "`generator` and `discriminator` must be built for the same number of classes. "
            "Received: generator num_classes=10, discriminator num_classes=5")):
        SAGAN(g, d)


def test_networks_without_class_layers_skip_the_class_count_check():
    g, _ = build_networks()
    images = keras.Input((32, 32, 3))
    labels = keras.Input((), dtype="int32")
    logits = keras.layers.Reshape(())(keras.layers.Dense(1)(keras.layers.Flatten()(images)))
    unconditional = keras.Model([images, labels], logits)
    assert SAGAN(g, unconditional).latent_dim == LATENT


def test_class_counts_are_read_inside_nested_models():
    g, _ = build_networks()
    images = keras.Input((32, 32, 3))
    labels = keras.Input((), dtype="int32")
    inner = sagan_tf.build_discriminator("sagan32", 3, channels=[16, 16, 16, 16])
    wrapper = keras.Model([images, labels], inner([images, labels]))
    with pytest.raises(ValueError, match="discriminator num_classes=3"):
        SAGAN(g, wrapper)


@pytest.mark.parametrize("latent_dim,match", [
    (0, "`latent_dim` must be a positive integer. Received: latent_dim=0"),
    (-1, "`latent_dim` must be a positive integer. Received: latent_dim=-1"),
    (True, "`latent_dim` must be a positive integer. Received: latent_dim=True"),
    (128.0, "`latent_dim` must be a positive integer. Received: latent_dim=128.0"),
    (64, "`latent_dim` must be the generator's z width, 128. Received: latent_dim=64"),
])
def test_latent_dim_must_be_the_generators_positive_z_width(latent_dim, match):
    g, d = build_networks()
    with pytest.raises(ValueError, match=re.escape(match)):
        SAGAN(g, d, latent_dim=latent_dim)
    assert SAGAN(g, d, latent_dim=LATENT).latent_dim == LATENT


def test_unconditional_train_step_equals_sgd_on_the_hinge_of_d_x_and_d_g_z():
    """G(z) and D(x) without labels: the step ignores the data's labels."""
    keras.utils.set_random_seed(0)
    g = sagan_tf.build_generator("sagan32", None, channels=[8, 8, 8])
    d = sagan_tf.build_discriminator("sagan32", None, channels=[8, 8, 8, 8])
    model = SAGAN(g, d, seed=SEED)
    model.compile(keras.optimizers.SGD(G_LR), keras.optimizers.SGD(D_LR))
    assert not model.conditional
    g_copy, d_copy = copy_network(g), copy_network(d)
    start_g, start_d = g.get_weights(), d.get_weights()
    images, labels = random_batch(8)
    logs = model.train_step((images, labels * 0 + 3))  # any labels: ignored
    fake = g_copy(_z(8, 0, 1), training=True)
    with tf.GradientTape() as tape:
        d_loss = _hinge_d(d_copy(images, training=True), d_copy(fake, training=True))
    _sgd(d_copy, tape.gradient(d_loss, d_copy.trainable_variables), D_LR)
    with tf.GradientTape() as tape:
        g_loss = -tf.reduce_mean(d_copy(g_copy(_z(8, 0, 0), training=True), training=True))
    _sgd(g_copy, tape.gradient(g_loss, g_copy.trainable_variables), G_LR)
    np.testing.assert_allclose(float(logs["d_loss"]), float(d_loss), rtol=1e-5)
    np.testing.assert_allclose(float(logs["g_loss"]), float(g_loss), rtol=1e-5, atol=1e-6)
    assert_same_weights(model.discriminator, d_copy, start_d)
    assert_same_weights(model.generator, g_copy, start_g)


def test_a_conditional_and_an_unconditional_network_are_refused_together():
    g, d = build_networks()
    d_plain = sagan_tf.build_discriminator("sagan32", None, channels=[16, 16, 16, 16])
    with pytest.raises(ValueError, match="a class-conditional generator and an "
                                         "unconditional discriminator"):
        SAGAN(g, d_plain)
    g_plain = sagan_tf.build_generator("sagan32", None, channels=[16, 16, 16])
    with pytest.raises(ValueError, match="an unconditional generator and a class-cond"):
        SAGAN(g_plain, d)


def test_an_update_skipped_by_loss_scaling_still_counts_as_a_step():
    """mixed_float16: gradients that overflow are not applied (Keras' loss scaling
    halves its scale instead), but the step counter still names the iteration, so the
    next step draws the next noise streams and data."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        g = sagan_tf.build_generator("sagan32", NUM_CLASSES, channels=[8, 8, 8])
        d = sagan_tf.build_discriminator("sagan32", NUM_CLASSES, channels=[8, 8, 8, 8])
        model = SAGAN(g, d, seed=SEED)
        model.compile(keras.optimizers.SGD(G_LR), keras.optimizers.SGD(D_LR))
        for optimizer in (model.g_optimizer, model.d_optimizer):
            optimizer.dynamic_scale.assign(3e38)  # any gradient overflows
        before = [w.numpy() for w in g.trainable_variables + d.trainable_variables]
        model.train_step(random_batch(8))
    finally:
        keras.mixed_precision.set_global_policy("float32")
    after = [w.numpy() for w in g.trainable_variables + d.trainable_variables]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))  # nothing applied
    for optimizer in (model.g_optimizer, model.d_optimizer):
        assert int(optimizer.iterations.numpy()) == 1
        assert float(optimizer.dynamic_scale.numpy()) == pytest.approx(1.5e38)

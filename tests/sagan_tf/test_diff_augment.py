"""DiffAugment against NumPy: each transform with the same uniform draws, the Jacobian
of T built column by column in NumPy against TF's forward- and reverse-mode gradients,
and SAGAN's hook: a train step with DiffAugment equals a hand step whose D sees T of
the documented draws, none equals the plain step bit for bit, the draws follow the step
(resume) and two replicas see one device's draws."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sagan_tf
from noise_reference import documented_z
from sagan_tf import diff_augment as da
from sagan_tf import noise
from sagan_tf.sagan import SAGAN
from sagan_tf.train_config import TrainConfig
from sagan_tf.compat import mirrored_strategy

SEED = 1
NUM_CLASSES = 3
LATENT = 8
G_LR, D_LR = 0.01, 0.02


# -- NumPy reference, written from the paper and the authors' code --------------------

def _int(u, low, high):
    n = high - low + 1
    return low + np.minimum(np.floor(u.astype(np.float32) * np.float32(n)).astype(int), n - 1)


def np_color(x, u):
    x = x + (u[:, 0, None, None, None] - 0.5)
    m = x.mean(axis=3, keepdims=True)
    x = (x - m) * (2.0 * u[:, 1, None, None, None]) + m
    m = x.mean(axis=(1, 2, 3), keepdims=True)
    return (x - m) * (u[:, 2, None, None, None] + 0.5) + m


def np_translation(x, u):
    n, h, w, _ = x.shape
    r_y, r_x = h // 8, w // 8
    out = np.zeros_like(x)
    for b in range(n):
        dx, dy = _int(u[b, 3], -r_x, r_x), _int(u[b, 4], -r_y, r_y)
        for i in range(h):
            for j in range(w):
                if 0 <= i + dy < h and 0 <= j + dx < w:
                    out[b, i, j] = x[b, i + dy, j + dx]
    return out


def np_cutout(x, u, inside=False):
    """The authors' procedure: the square's cells, clipped into the image, set to 0."""
    n, h, w, _ = x.shape
    sy, sx = h // 2, w // 2
    out = x.copy()
    for b in range(n):
        if inside:
            top, left = _int(u[b, 6], 0, h - sy), _int(u[b, 5], 0, w - sx)
        else:
            top = _int(u[b, 6], 0, h - sy % 2) - sy // 2
            left = _int(u[b, 5], 0, w - sx % 2) - sx // 2
        rows = np.clip(top + np.arange(sy), 0, h - 1)
        cols = np.clip(left + np.arange(sx), 0, w - 1)
        out[b][np.ix_(rows, cols)] = 0.0
    return out


def np_augment(x, u, policy, inside=False):
    x = np.asarray(x, np.float64)
    u = np.asarray(u, np.float64)
    if "color" in policy:
        x = np_color(x, u)
    if "translation" in policy:
        x = np_translation(x, u)
    if "cutout" in policy:
        x = np_cutout(x, u, inside)
    return x


def _images(n=6, size=16, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, (n, size, size, 3)).astype("float32")


# -- the transforms --------------------------------------------------------------------

@pytest.mark.parametrize("policy, inside", [
    ("color", False), ("translation", False), ("cutout", False), ("cutout", True),
    ("color,translation,cutout", False), ("color,translation,cutout", True)])
def test_transforms_match_numpy_with_the_same_draws(policy, inside):
    x = _images()
    u = da.uniforms(3, -7, len(x))
    out = da.DiffAugment(policy, cutout_inside=inside)(tf.constant(x), u).numpy()
    np.testing.assert_allclose(out, np_augment(x, u.numpy(), policy.split(","), inside),
                               rtol=1e-5, atol=2e-6)
    assert not np.allclose(out, x)


def test_integer_draws_cover_the_papers_ranges():
    u = tf.linspace(0.0, 1.0 - 2.0 ** -24, 10_000)
    assert set(da.uniform_int(u, -4, 4).numpy()) == set(range(-4, 5))  # 1/8 of 32
    # Cutout centres (authors): 0..size for an even side, so the square may be clipped.
    x = tf.ones([4000, 8, 8, 1])
    table = da.uniforms(0, -3, 4000)
    cut = 64 - da.cutout(x, table).numpy().sum(axis=(1, 2, 3))
    assert cut.max() == 16 and cut.min() == 4  # a full 4x4 square; a corner quarter
    inside = 64 - da.cutout(x, table, inside=True).numpy().sum(axis=(1, 2, 3))
    assert set(inside) == {16}


def test_float16_images_stay_float16_and_match_float32():
    x = _images()
    u = da.uniforms(0, -5, len(x))
    t = da.DiffAugment("color,translation,cutout")
    half = t(tf.constant(x, tf.float16), u)
    assert half.dtype == tf.float16
    np.testing.assert_allclose(half.numpy(), t(tf.constant(x), u).numpy(), atol=2e-2)


def test_the_gradient_is_the_numpy_jacobian():
    """T is affine in x for fixed draws: its Jacobian's column i is
    T_np(e_i) - T_np(0), and TF's JVP and VJP must equal J v and J^T w."""
    policy = ["color", "translation", "cutout"]
    x = _images(n=2, size=8, seed=1)
    u = da.uniforms(2, -9, 2)
    base = np_augment(np.zeros_like(x), u.numpy(), policy)
    eye = np.eye(x.size, dtype=np.float32).reshape((x.size,) + x.shape)
    jac = np.stack([(np_augment(e, u.numpy(), policy) - base).ravel() for e in eye], 1)
    rng = np.random.RandomState(0)
    v = rng.normal(size=x.shape).astype("float32")
    w = rng.normal(size=x.shape).astype("float32")
    t = da.DiffAugment(policy)
    xv = tf.constant(x)
    with tf.autodiff.ForwardAccumulator(xv, tf.constant(v)) as acc:
        out = t(xv, u)
    np.testing.assert_allclose(acc.jvp(out).numpy().ravel(), jac @ v.ravel(),
                               rtol=1e-4, atol=1e-5)
    with tf.GradientTape() as tape:
        tape.watch(xv)
        out = t(xv, u)
    grad = tape.gradient(out, xv, output_gradients=tf.constant(w))
    np.testing.assert_allclose(grad.numpy().ravel(), jac.T @ w.ravel(), rtol=1e-4, atol=1e-5)
    assert np.abs(jac).sum(0).min() < 1.0 < np.abs(jac).sum(0).max()  # cut and kept pixels


@pytest.mark.parametrize("bad", ["flip", "color,Color", ["cutout", "zoom"]])
def test_unknown_policies_are_refused_by_name(bad):
    with pytest.raises(ValueError, match=r"`diffaugment` must name policies among"):
        da.parse_policy(bad)
    with pytest.raises(ValueError, match=r"Received: diffaugment="):
        TrainConfig(model_dir="ram://x", diffaugment=",".join(bad) if isinstance(bad, list)
                    else bad)


def test_policies_are_normalised_to_the_application_order():
    assert da.parse_policy("cutout, color") == ("color", "cutout")
    assert da.parse_policy("") == () and da.parse_policy(None) == ()
    assert TrainConfig(model_dir="ram://x", diffaugment="translation").diffaugment


# -- SAGAN's hook ----------------------------------------------------------------------

def _model(diffaugment=(), synchronized_bn=False):
    keras.utils.set_random_seed(0)
    g = sagan_tf.build_generator("sagan32", NUM_CLASSES, latent_dim=LATENT,
                                 channels=[8, 8, 8], attention_resolutions=[],
                                 synchronized_bn=synchronized_bn)
    d = sagan_tf.build_discriminator("sagan32", NUM_CLASSES, channels=[8, 8, 8, 8],
                                     attention_resolutions=[])
    model = SAGAN(g, d, seed=SEED, diffaugment=diffaugment)
    model.compile(keras.optimizers.SGD(G_LR), keras.optimizers.SGD(D_LR))
    return model


def _batch(n=8, seed=0):
    rng = np.random.RandomState(seed)
    return (tf.constant(rng.uniform(-1, 1, (n, 32, 32, 3)).astype("float32")),
            tf.constant(rng.randint(0, NUM_CLASSES, n).astype("int32")))


def _copy(net):
    clone = keras.models.clone_model(net)
    clone.set_weights(net.get_weights())
    return clone


POLICY = ("color", "translation", "cutout")


@pytest.fixture(scope="module")
def trained_pair():
    """A model trained one step with DiffAugment, and copies of G and D stepped by hand."""
    model = _model(POLICY)
    g, d = _copy(model.generator), _copy(model.discriminator)
    images, labels = _batch()
    n = len(labels)
    t = da.DiffAugment(POLICY)

    def T(x, k, fake):  # the documented draws of step 0
        return t(x, da.uniforms(SEED, noise.augmentation_stream(0, k, fake), n))

    def sgd(net, grads, lr):
        for w, gr in zip(net.trainable_variables, grads):
            w.assign(w - lr * tf.convert_to_tensor(gr))

    z = lambda k: tf.constant(documented_z(SEED, n, LATENT, stream=1 + k))  # noqa: E731
    fake = g([z(1), labels], training=True)
    with tf.GradientTape() as tape:
        d_loss = (tf.reduce_mean(tf.nn.relu(1 - d([T(images, 1, False), labels], training=True)))
                  + tf.reduce_mean(tf.nn.relu(1 + d([T(fake, 1, True), labels], training=True))))
    sgd(d, tape.gradient(d_loss, d.trainable_variables), D_LR)
    with tf.GradientTape() as tape:
        g_loss = -tf.reduce_mean(d([T(g([z(0), labels], training=True), 0, True), labels],
                                   training=True))
    sgd(g, tape.gradient(g_loss, g.trainable_variables), G_LR)
    logs = model.train_step((images, labels))
    return model, g, d, float(d_loss), float(g_loss), logs


def test_train_step_feeds_d_the_augmented_real_and_fake_images(trained_pair):
    model, g, d, d_loss, g_loss, logs = trained_pair
    np.testing.assert_allclose(float(logs["d_loss"]), d_loss, rtol=1e-5)
    np.testing.assert_allclose(float(logs["g_loss"]), g_loss, rtol=1e-5, atol=1e-6)
    for net, ref in ((model.discriminator, d), (model.generator, g)):
        for a, e in zip(net.weights, ref.weights):
            np.testing.assert_allclose(a.numpy(), e.numpy(), rtol=1e-5, atol=2e-6,
                                       err_msg=a.path)


@pytest.fixture(scope="module")
def plain():
    """A model without DiffAugment, trained one step on the same batch."""
    model = _model()
    model.train_step(_batch())
    return model


def test_the_hook_changes_the_step(trained_pair, plain):
    model = trained_pair[0]  # without T the step differs: the hook is not a no-op
    assert max(np.abs(a - b).max() for a, b in zip(plain.discriminator.get_weights(),
                                                   model.discriminator.get_weights())) > 1e-4


def test_no_augmentation_is_the_plain_step_bit_for_bit(plain):
    b = _model("")
    b.train_step(_batch())
    for net in ("generator", "discriminator"):
        for x, y in zip(getattr(plain, net).get_weights(), getattr(b, net).get_weights()):
            np.testing.assert_array_equal(x, y)
    assert b.get_config()["diffaugment"] == [] and not b.augment


def test_draws_follow_the_step_so_a_resumed_run_repeats_them(trained_pair):
    model = trained_pair[0]  # one step done: iterations == 1
    fresh = _model(POLICY)
    fresh.g_optimizer.iterations.assign(1)  # what restoring the checkpoint sets
    x = _batch()[0]
    for k, fake in ((0, True), (1, False), (1, True)):
        np.testing.assert_array_equal(model._augment(x, k, fake).numpy(),
                                      fresh._augment(x, k, fake).numpy())
    expected = da.DiffAugment(POLICY)(x, da.uniforms(SEED, noise.augmentation_stream(1, 1, 1),
                                                     8))
    np.testing.assert_array_equal(fresh._augment(x, 1, True).numpy(), expected.numpy())
    fresh.g_optimizer.iterations.assign(2)
    assert not np.allclose(fresh._augment(x, 1, True).numpy(), expected.numpy())
    assert not np.allclose(model._augment(x, 1, True), model._augment(x, 1, False))


def test_augmentation_streams_never_meet_the_noise_streams():
    steps, ks = tf.range(50)[:, None], tf.range(noise.MAX_D_STEPS + 1, dtype=tf.int64)[None]
    streams = np.concatenate([noise.augmentation_stream(steps, ks, f).numpy().ravel()
                              for f in (False, True)])
    assert len(set(streams)) == 50 * 16 * 2 and streams.max() < 0  # z streams are >= 0


def _one_and_two_replicas():
    single = _model(POLICY, synchronized_bn=True)
    strategy = mirrored_strategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        mirrored = _model(POLICY, synchronized_bn=True)
    batch = _batch()
    dist = next(iter(strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensors(batch))))
    return single, mirrored, strategy, batch, dist


def test_two_replicas_draw_one_devices_rows():
    single, mirrored, strategy, batch, dist = _one_and_two_replicas()
    for m in (single, mirrored):
        m.g_optimizer.iterations.assign(3)
    # Each replica's draws are its rows of the global batch's (exactly).
    parts = strategy.run(lambda images, _: mirrored._augment(images, 2, True), args=dist)
    joined = np.concatenate([p.numpy() for p in strategy.experimental_local_results(parts)])
    np.testing.assert_array_equal(joined, single._augment(batch[0], 2, True).numpy())
    assert not np.allclose(joined[:4], joined[4:])


@pytest.mark.slow  # 17 s; test_sagan_replicas' SGD test checks the replica arithmetic
def test_two_replicas_step_as_one_device():
    single, mirrored, strategy, batch, dist = _one_and_two_replicas()
    # One step on the same global batch: the same weights (float32 summation order).
    single.train_step(batch)
    strategy.run(mirrored.train_step, args=(dist,))
    for net in ("generator", "discriminator"):
        for a, b in zip(getattr(single, net).get_weights(), getattr(mirrored, net).get_weights()):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=5e-6)


def test_config_round_trip_keeps_the_policy(trained_pair):
    config = trained_pair[0].get_config()
    assert config["diffaugment"] == list(POLICY) and not config["cutout_inside"]
    config["cutout_inside"] = True
    restored = SAGAN.from_config(config)
    assert restored.augment.policy == POLICY and restored.augment.cutout_inside

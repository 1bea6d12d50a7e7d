import numpy as np
import pytest
import tensorflow as tf

from reference import hinge_d, hinge_g
from sagan_tf import compat  # MirroredStrategies with fresh collective keys
from sagan_tf.losses import (MODE_SEEKING_EPS, discriminator_hinge_loss, generator_hinge_loss,
                             mode_seeking_loss, paired_labels)


def _logits(n, seed):
    # Spans both sides of the hinges at +1 and -1, and hits them exactly.
    rng = np.random.RandomState(seed)
    x = rng.uniform(-3, 3, n).astype("float32")
    x[:2] = [1.0, -1.0][:n]
    return x


@pytest.mark.parametrize("n", [1, 7, 64])
def test_hinge_losses_equal_numpy_formulas(n):
    real, fake = _logits(n, 0), _logits(n, 1)
    d = discriminator_hinge_loss(tf.constant(real), tf.constant(fake))
    g = generator_hinge_loss(tf.constant(fake))
    assert d.shape == () and g.shape == () and d.dtype == tf.float32
    np.testing.assert_allclose(float(d), hinge_d(real, fake), rtol=1e-6)
    np.testing.assert_allclose(float(g), hinge_g(fake), rtol=1e-6, atol=1e-7)


def test_hinge_values_by_hand():
    # relu(1 - [2, 0.5]) = [0, 0.5]; relu(1 + [-2, 0]) = [0, 1]
    assert float(discriminator_hinge_loss(tf.constant([2.0, 0.5]),
                                          tf.constant([-2.0, 0.0]))) == pytest.approx(0.75)
    assert float(generator_hinge_loss(tf.constant([2.0, -0.5]))) == pytest.approx(-0.75)
    # A confident D (real > 1, fake < -1) has zero loss.
    assert float(discriminator_hinge_loss(tf.constant([1.5, 3.0]),
                                          tf.constant([-1.5, -9.0]))) == 0.0


def test_gradients_by_hand():
    real, fake = tf.Variable([2.0, 0.5, -1.0]), tf.Variable([-2.0, 0.0, 3.0])
    with tf.GradientTape(persistent=True) as tape:
        d = discriminator_hinge_loss(real, fake)
        g = generator_hinge_loss(fake)
    # dL_D/d real_i = -1/N where real_i < 1; dL_D/d fake_i = 1/N where fake_i > -1.
    np.testing.assert_allclose(tape.gradient(d, real).numpy(), [0, -1 / 3, -1 / 3])
    np.testing.assert_allclose(tape.gradient(d, fake).numpy(), [0, 1 / 3, 1 / 3])
    np.testing.assert_allclose(tape.gradient(g, fake).numpy(), [-1 / 3] * 3)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_logits_give_float32_losses(dtype):
    real, fake = _logits(16, 2), _logits(16, 3)
    d = discriminator_hinge_loss(tf.constant(real, dtype), tf.constant(fake, dtype))
    g = generator_hinge_loss(tf.constant(fake, dtype))
    assert d.dtype == tf.float32 and g.dtype == tf.float32
    real_q = tf.cast(tf.constant(real, dtype), "float32").numpy()
    fake_q = tf.cast(tf.constant(fake, dtype), "float32").numpy()
    np.testing.assert_allclose(float(d), hinge_d(real_q, fake_q), rtol=1e-6)
    np.testing.assert_allclose(float(g), hinge_g(fake_q), rtol=1e-6)


@pytest.mark.parametrize("sizes", [(4, 4), (3, 5), (1, 2, 5)])
def test_global_batch_size_slices_sum_to_global_mean(sizes):
    n = sum(sizes)
    real, fake = _logits(n, 4), _logits(n, 5)
    cuts = np.cumsum(sizes)[:-1]
    d = sum(float(discriminator_hinge_loss(tf.constant(r), tf.constant(f), n))
            for r, f in zip(np.split(real, cuts), np.split(fake, cuts)))
    g = sum(float(generator_hinge_loss(tf.constant(f), n)) for f in np.split(fake, cuts))
    np.testing.assert_allclose(d, hinge_d(real, fake), rtol=1e-6)
    np.testing.assert_allclose(g, hinge_g(fake), rtol=1e-6, atol=1e-7)
    # Without global_batch_size the per-slice means do not add up to the global mean.
    d_wrong = sum(float(discriminator_hinge_loss(tf.constant(r), tf.constant(f)))
                  for r, f in zip(np.split(real, cuts), np.split(fake, cuts)))
    assert abs(d_wrong - hinge_d(real, fake)) > 1e-3


@pytest.mark.parametrize("sizes", [(4, 4), (2, 6)])
def test_global_batch_size_under_mirrored_strategy(sizes):
    """Per-replica losses on two replicas, summed by the strategy, equal the numpy mean
    over the global batch."""
    strategy = compat.mirrored_strategy(["/cpu:0", "/cpu:1"])
    assert strategy.num_replicas_in_sync == 2
    n = sum(sizes)
    real, fake = _logits(n, 6), _logits(n, 7)
    parts = [(real[:sizes[0]], fake[:sizes[0]]), (real[sizes[0]:], fake[sizes[0]:])]
    values = strategy.experimental_distribute_values_from_function(
        lambda ctx: tuple(tf.constant(t) for t in parts[ctx.replica_id_in_sync_group]))

    @tf.function
    def step(values):
        def replica_fn(v):
            return (discriminator_hinge_loss(v[0], v[1], global_batch_size=n),
                    generator_hinge_loss(v[1], global_batch_size=n))
        d, g = strategy.run(replica_fn, args=(values,))
        return (strategy.reduce(tf.distribute.ReduceOp.SUM, d, axis=None),
                strategy.reduce(tf.distribute.ReduceOp.SUM, g, axis=None))

    d, g = step(values)
    np.testing.assert_allclose(float(d), hinge_d(real, fake), rtol=1e-6)
    np.testing.assert_allclose(float(g), hinge_g(fake), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n", [2, 7, 16])
def test_mode_seeking_loss_is_msgan_formula_over_the_half_pairs(n):
    rng = np.random.default_rng(n)
    images = rng.uniform(-1, 1, (n, 4, 4, 3)).astype("float32")
    z = rng.normal(size=(n, 5)).astype("float32")
    h = n // 2  # an odd last row has no partner and is not read
    expected = 1.0 / (np.abs(images[:h] - images[h:2 * h]).mean()
                      / np.abs(z[:h] - z[h:2 * h]).mean() + MODE_SEEKING_EPS)
    np.testing.assert_allclose(float(mode_seeking_loss(images, z)), expected, rtol=1e-5)


def test_mode_seeking_loss_is_largest_for_identical_images_and_falls_with_their_gap():
    z = np.random.default_rng(0).normal(size=(8, 5)).astype("float32")
    same = np.zeros((8, 2, 2, 1), "float32")
    assert float(mode_seeking_loss(same, z)) == pytest.approx(1.0 / MODE_SEEKING_EPS)
    apart = same.copy()
    apart[4:] = 0.5
    further = same.copy()
    further[4:] = 1.0
    assert float(mode_seeking_loss(further, z)) < float(mode_seeking_loss(apart, z))


@pytest.mark.parametrize("labels,expected", [([1, 2, 3, 4], [1, 2, 1, 2]),
                                             ([1, 2, 3, 4, 5], [1, 2, 1, 2, 5]),
                                             ([7], [7])])
def test_paired_labels_repeat_the_first_half(labels, expected):
    assert paired_labels(tf.constant(labels)).numpy().tolist() == expected

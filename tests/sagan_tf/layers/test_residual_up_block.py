import keras
import numpy as np
import pytest
import tensorflow as tf

import reference
from reference import up_block
from sagan_tf.layers import ResidualUpBlock
from sagan_tf.layers.residual_up_block import upsample_nearest_2x

K = 3


def _randomize(block, seed=0):
    """Random CBN gains, biases and moving stats, so that every term is visible."""
    rng = np.random.RandomState(seed)
    for cbn in (block.cbn_1, block.cbn_2):
        k, c = cbn.gamma.shape
        cbn.gamma.assign(rng.uniform(0.5, 2.0, (k, c)).astype("float32"))
        cbn.beta.assign(rng.randn(k, c).astype("float32"))
        cbn.batch_norm.moving_mean.assign(rng.randn(c).astype("float32"))
        cbn.batch_norm.moving_variance.assign(rng.uniform(0.3, 3.0, c).astype("float32"))
    for conv in (block.conv_1, block.conv_2, block.conv_shortcut):
        conv.bias.assign(rng.randn(*conv.bias.shape).astype("float32") * 0.1)


def _data(shape, seed=1):
    rng = np.random.RandomState(seed)
    return rng.randn(*shape).astype("float32"), rng.randint(0, K, shape[0]).astype("int32")


@pytest.mark.parametrize("cin,filters,upsample", [(8, 4, True), (4, 4, True),
                                                  (6, 5, False)])
def test_inference_output_equals_numpy_composition(cin, filters, upsample):
    block = ResidualUpBlock(filters, K, upsample=upsample)
    x, labels = _data((3, 4, 5, cin))
    inputs = [tf.constant(x), tf.constant(labels)]
    block(inputs, training=True)  # moves u away from its initial value
    _randomize(block)
    y = block(inputs, training=False).numpy()
    scale = 2 if upsample else 1
    assert y.shape == (3, 4 * scale, 5 * scale, filters)
    assert block.compute_output_shape([x.shape, labels.shape]) == y.shape
    np.testing.assert_allclose(y, up_block(block, x, labels), rtol=1e-4, atol=1e-4)


def test_shortcut_is_always_a_1x1_conv_and_all_convs_are_spectral():
    block = ResidualUpBlock(4, K)
    block([tf.zeros((1, 2, 2, 4)), tf.zeros((1,), "int32")])
    assert tuple(block.conv_shortcut.kernel.shape) == (1, 1, 4, 4)
    assert tuple(block.conv_1.kernel.shape) == (3, 3, 4, 4)
    assert sum(w.name == "sn_u" for w in block.non_trainable_weights) == 3


def test_labels_select_the_class_conditional_terms():
    """The same x with different labels gives outputs that differ (conditioning works)."""
    block = ResidualUpBlock(4, K)
    x = np.random.RandomState(2).randn(2, 3, 3, 4).astype("float32")
    x[1] = x[0]
    block([tf.constant(x), tf.constant([0, 1])])
    _randomize(block)
    y = block([tf.constant(x), tf.constant([0, 1])], training=False).numpy()
    assert np.abs(y[0] - y[1]).max() > 1e-2
    np.testing.assert_allclose(y, up_block(block, x, np.array([0, 1])), rtol=1e-4, atol=1e-4)


def test_training_mode_uses_batch_statistics():
    """In training mode the moving statistics do not enter the output."""
    block = ResidualUpBlock(4, K)
    x, labels = _data((4, 3, 3, 4))
    inputs = [tf.constant(x), tf.constant(labels)]
    block(inputs)
    _randomize(block)
    u = [c.u.numpy() for c in (block.conv_1, block.conv_2, block.conv_shortcut)]
    y1 = block(inputs, training=True).numpy()
    for c, ui in zip((block.conv_1, block.conv_2, block.conv_shortcut), u):
        c.u.assign(ui)
    for cbn in (block.cbn_1, block.cbn_2):
        cbn.batch_norm.moving_mean.assign(cbn.batch_norm.moving_mean.numpy() + 5.0)
    y2 = block(inputs, training=True).numpy()
    np.testing.assert_allclose(y1, y2, rtol=1e-5, atol=1e-5)
    assert np.abs(y1 - block(inputs, training=False).numpy()).max() > 1e-2


def test_labels_of_wrong_rank():
    block = ResidualUpBlock(4, K)
    with pytest.raises(ValueError, match="1D int tensor"):
        block([tf.zeros((2, 2, 2, 4)), tf.zeros((2, 1), "int32")])


def test_config_round_trip_and_equal_outputs_after_copying_weights():
    block = ResidualUpBlock(5, K, upsample=False, power_iterations=2, bn_momentum=0.8,
                            bn_epsilon=1e-3, synchronized_bn=True, fused_bn=False, name="up")
    x, labels = _data((2, 4, 4, 3))
    inputs = [tf.constant(x), tf.constant(labels)]
    block(inputs, training=True)
    _randomize(block)
    clone = ResidualUpBlock.from_config(block.get_config())
    assert clone.get_config() == block.get_config()
    clone.build([x.shape, labels.shape])
    clone.set_weights(block.get_weights())
    np.testing.assert_allclose(clone(inputs).numpy(), block(inputs).numpy(), rtol=1e-6,
                               atol=1e-6)
    assert clone.cbn_1.momentum == 0.8 and clone.cbn_1.epsilon == 1e-3
    assert clone.cbn_2.synchronized and clone.conv_1.power_iterations == 2


@pytest.mark.parametrize("dtype, tol", [("float32", 1e-6), ("bfloat16", 1e-2)])
def test_upsample_gradient_sums_each_2x2_block_as_autodiff_of_repeat_does(dtype, tol):
    rng = np.random.RandomState(0)
    x = tf.cast(tf.constant(rng.randn(2, 3, 4, 5).astype("float32")), dtype)
    r = tf.cast(tf.constant(rng.randn(2, 6, 8, 5).astype("float32")), dtype)
    grads = []
    for up in (upsample_nearest_2x,
               lambda t: tf.repeat(tf.repeat(t, 2, axis=1), 2, axis=2)):  # plain path
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = up(x)
            loss = tf.reduce_sum(tf.cast(y * r, "float32"))
        grads.append(tape.gradient(loss, x))
        np.testing.assert_array_equal(tf.cast(y, "float32").numpy(),
                                      reference.upsample2(tf.cast(x, "float32").numpy()))
    r32 = tf.cast(r, "float32").numpy()
    expected = r32.reshape(2, 3, 2, 4, 2, 5).sum(axis=(2, 4))
    for g in grads:
        assert g.dtype == x.dtype
        np.testing.assert_allclose(tf.cast(g, "float32").numpy(), expected, rtol=tol, atol=tol)


def test_unconditional_block_has_plain_batch_norms_and_equals_numpy():
    block = ResidualUpBlock(4, None)
    x = _data((3, 4, 5, 6))[0]
    block(tf.constant(x), training=True)
    rng = np.random.RandomState(3)
    for bn in (block.bn_1, block.bn_2):
        c = bn.gamma.shape[0]
        bn.gamma.assign(rng.uniform(0.5, 2.0, c).astype("float32"))
        bn.beta.assign(rng.randn(c).astype("float32"))
        bn.moving_mean.assign(rng.randn(c).astype("float32"))
        bn.moving_variance.assign(rng.uniform(0.3, 3.0, c).astype("float32"))
    assert not hasattr(block, "cbn_1") and block.get_config()["num_classes"] is None
    y = block(tf.constant(x), training=False).numpy()
    assert block.compute_output_shape(x.shape) == y.shape == (3, 8, 10, 4)
    np.testing.assert_allclose(y, up_block(block, x, None), rtol=1e-4, atol=1e-4)
    with pytest.raises(ValueError, match=r"unconditional .* called as `block\(x\)`"):
        block([tf.constant(x), tf.zeros((3,), "int32")])
    with pytest.raises(ValueError, match=r"called as `block\(\[x, labels\]\)`"):
        ResidualUpBlock(4, K)(tf.constant(x))


def _errors(got, want):
    """Largest |got - want| of each tensor over its own largest |want|, or over 5% of
    the largest |want| of them all: the gradients whose true value is 0 (a conv bias
    before a batch norm) hold only rounding noise."""
    got = [tf.cast(g, "float32").numpy() for g in got]
    want = [tf.cast(w, "float32").numpy() for w in want]
    floor = 0.05 * max(np.abs(w).max() for w in want)
    return np.array([np.abs(g - w).max() / max(np.abs(w).max(), floor)
                     for g, w in zip(got, want)])


def _outputs_and_gradients(block, inputs):
    """Training-mode output, gradients of x and of every weight, u after the update."""
    with tf.GradientTape() as tape:
        tape.watch(inputs[0])
        y = block(inputs, training=True)
        r = tf.cast(tf.linspace(-1.0, 1.0, y.shape[-1]), y.dtype)
        loss = tf.reduce_sum(tf.cast(tf.math.sin(y) * r, "float32"))
    grads = tape.gradient(loss, [inputs[0]] + block.trainable_weights)
    grads = [tf.convert_to_tensor(g) for g in grads]  # CBN gains: IndexedSlices
    return [y] + grads + [w.value for w in block.non_trainable_weights]


# sagan32's up-blocks (4 -> 8, 8 -> 16, 16 -> 32 at 256 channels), at batch 2.
@pytest.mark.parametrize("size", [4, 8, 16])
def test_subpixel_conv_equals_the_plain_path_in_outputs_and_gradients(size):
    """float32: the same to rounding. mixed_bfloat16: the batch norms' backward pass
    amplifies bf16 rounding (dx 23-39% off the float32 result in either path), so each
    bf16 path is compared with float32, and the sub-pixel one must be as close as the
    plain one (within 1.5x + 0.02)."""
    keras.utils.set_random_seed(size)
    rng = np.random.RandomState(size)
    x = tf.constant(rng.randn(2, size, size, 256).astype("float32"))
    inputs = [x, tf.constant([0, 2], "int32")]
    results = {}
    for policy in ("float32", "mixed_bfloat16"):
        for path in ("plain", "subpixel"):
            block = ResidualUpBlock(256, K, upsample_conv=path, dtype=policy)
            block.build([x.shape, (2,)])
            if not results:
                _randomize(block)
                weights = block.get_weights()
            block.set_weights(weights)
            results[policy, path] = _outputs_and_gradients(block, inputs)
    want = results["float32", "plain"]
    assert len(want) == 1 + 1 + 10 + 7  # y, dx, 10 weights, 3 u, 4 moving stats
    assert results["mixed_bfloat16", "subpixel"][0].dtype == "bfloat16"
    assert _errors(results["float32", "subpixel"], want).max() < 2e-5
    bf16_plain = _errors(results["mixed_bfloat16", "plain"], want)
    bf16_subpixel = _errors(results["mixed_bfloat16", "subpixel"], want)
    assert np.all(bf16_subpixel <= 1.5 * bf16_plain + 0.02), (bf16_subpixel, bf16_plain)


def test_upsample_conv_in_config_and_checked():
    block = ResidualUpBlock(4, K, upsample_conv="plain")
    assert ResidualUpBlock.from_config(block.get_config()).upsample_conv == "plain"
    assert ResidualUpBlock(4, K).upsample_conv == "subpixel"
    with pytest.raises(ValueError, match="`upsample_conv` must be one of"):
        ResidualUpBlock(4, K, upsample_conv="pixelshuffle")

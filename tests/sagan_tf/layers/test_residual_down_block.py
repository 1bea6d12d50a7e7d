import keras
import numpy as np
import pytest
import tensorflow as tf

from reference import down_block
from sagan_tf.layers import ResidualDownBlock


def _randomize_biases(block, seed=0):
    rng = np.random.RandomState(seed)
    for conv in (block.conv_1, block.conv_2, block.conv_shortcut):
        if conv is not None:
            conv.bias.assign(rng.randn(*conv.bias.shape).astype("float32") * 0.1)


def _x(shape, seed=1):
    return np.random.RandomState(seed).randn(*shape).astype("float32")


@pytest.mark.parametrize("cin,filters,downsample,optimized,shortcut", [
    (4, 6, True, False, "conv"),       # channels change and downsampling
    (6, 6, True, False, "conv"),       # downsampling alone needs the 1x1 conv
    (4, 6, False, False, "conv"),      # channel change alone needs the 1x1 conv
    (6, 6, False, False, "identity"),  # neither: identity shortcut
    (3, 6, True, True, "conv"),        # D's optimized first block
])
def test_inference_output_equals_numpy_composition(cin, filters, downsample, optimized,
                                                    shortcut):
    block = ResidualDownBlock(filters, downsample=downsample, optimized=optimized)
    x = _x((2, 6, 4, cin))
    block(x, training=True)  # moves u away from its initial value
    _randomize_biases(block)
    y = block(x, training=False).numpy()
    scale = 2 if downsample else 1
    assert y.shape == (2, 6 // scale, 4 // scale, filters)
    assert block.compute_output_shape(x.shape) == y.shape
    assert (block.conv_shortcut is not None) == (shortcut == "conv")
    n_convs = 3 if shortcut == "conv" else 2
    assert sum(w.name == "kernel" for w in block.trainable_weights) == n_convs
    np.testing.assert_allclose(y, down_block(block, x, shortcut, optimized), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("optimized", [True, False])
def test_optimized_and_ordinary_orders_differ(optimized):
    """The reference for the other order does not match: the test sees the order.

    The input has negative values, so ReLU before the first conv (ordinary block)
    changes the result."""
    block = ResidualDownBlock(6, optimized=optimized)
    x = _x((2, 4, 4, 3), seed=2)
    y = block(x, training=False).numpy()
    other = down_block(block, x, "conv", not optimized)
    assert np.abs(y - other).max() > 1e-3


def test_training_call_updates_u_of_every_conv():
    block = ResidualDownBlock(4, optimized=True)
    x = _x((1, 4, 4, 3))
    block(x)
    convs = (block.conv_1, block.conv_2, block.conv_shortcut)
    u = [c.u.numpy() for c in convs]
    block(x, training=True)
    assert all(not np.allclose(c.u.numpy(), ui) for c, ui in zip(convs, u))
    u = [c.u.numpy() for c in convs]
    block(x, training=False)
    for c, ui in zip(convs, u):
        np.testing.assert_array_equal(c.u.numpy(), ui)


@pytest.mark.parametrize("downsample,optimized", [(True, True), (False, False)])
def test_config_round_trip_and_equal_outputs_after_copying_weights(downsample, optimized):
    block = ResidualDownBlock(8, downsample=downsample, optimized=optimized,
                              power_iterations=2, name="down")
    x = _x((2, 4, 4, 8))
    block(x, training=True)
    _randomize_biases(block)
    clone = ResidualDownBlock.from_config(block.get_config())
    assert clone.get_config() == block.get_config()
    clone.build(x.shape)
    clone.set_weights(block.get_weights())
    np.testing.assert_allclose(clone(x).numpy(), block(x).numpy(), rtol=1e-6, atol=1e-6)


def _errors(got, want):
    """Largest |got - want| of each tensor over its own largest |want| (or 5% of the
    largest of them all, for tensors near 0)."""
    got = [tf.cast(g, "float32").numpy() for g in got]
    want = [tf.cast(w, "float32").numpy() for w in want]
    floor = 0.05 * max(np.abs(w).max() for w in want)
    return np.array([np.abs(g - w).max() / max(np.abs(w).max(), floor)
                     for g, w in zip(got, want)])


def _outputs_and_gradients(block, x):
    """Training-mode output, gradients of x and of every weight, u after the update."""
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = block(x, training=True)
        r = tf.cast(tf.linspace(-1.0, 1.0, y.shape[-1]), y.dtype)
        loss = tf.reduce_sum(tf.cast(tf.math.sin(y) * r, "float32"))
    grads = tape.gradient(loss, [x] + block.trainable_weights)
    return [y] + grads + [w.value for w in block.non_trainable_weights]


# sagan32's downsampling blocks (optimized 32x32x3 -> 128, then 16x16x128 -> 128) and a
# block without downsampling (the option does not apply), at batch 2.
@pytest.mark.parametrize("size, cin, downsample, optimized", [
    (32, 3, True, True), (16, 128, True, False), (8, 128, False, False)])
def test_strided_conv_equals_the_plain_path_in_outputs_and_gradients(
        size, cin, downsample, optimized):
    """float32: the same to rounding. mixed_bfloat16: each path compared with float32,
    the strided one as close as the plain one (within 1.5x + 0.02)."""
    keras.utils.set_random_seed(size)
    x = tf.constant(_x((2, size, size, cin), seed=size))
    results = {}
    for policy in ("float32", "mixed_bfloat16"):
        for path in ("plain", "strided"):
            block = ResidualDownBlock(128, downsample=downsample, optimized=optimized,
                                      pooled_conv=path, dtype=policy)
            block.build(x.shape)
            if not results:
                _randomize_biases(block)
                weights = block.get_weights()
            block.set_weights(weights)
            results[policy, path] = _outputs_and_gradients(block, x)
    want = results["float32", "plain"]
    assert results["mixed_bfloat16", "strided"][0].dtype == "bfloat16"
    assert _errors(results["float32", "strided"], want).max() < 2e-5
    bf16_plain = _errors(results["mixed_bfloat16", "plain"], want)
    bf16_strided = _errors(results["mixed_bfloat16", "strided"], want)
    assert np.all(bf16_strided <= 1.5 * bf16_plain + 0.02), (bf16_strided, bf16_plain)


def test_pooled_conv_in_config_and_checked():
    block = ResidualDownBlock(4, pooled_conv="plain")
    assert ResidualDownBlock.from_config(block.get_config()).pooled_conv == "plain"
    assert ResidualDownBlock(4).pooled_conv == "strided"
    with pytest.raises(ValueError, match="`pooled_conv` must be one of"):
        ResidualDownBlock(4, pooled_conv="dilated")

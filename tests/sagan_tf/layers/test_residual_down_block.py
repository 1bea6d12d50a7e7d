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

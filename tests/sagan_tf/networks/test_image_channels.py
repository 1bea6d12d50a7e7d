"""`image_channels`: G draws C channels and D reads C (1: grayscale, 4: multispectral),
composed in NumPy from the weights, and a SAGAN step trains them."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import reference
from sagan_tf import build_discriminator, build_generator, presets
from sagan_tf.layers import SelfAttention
from sagan_tf.sagan import SAGAN

K = 3


def _nets(channels):
    keras.utils.set_random_seed(0)
    g = build_generator("sagan32", K, channels=[16, 16, 16], attention_resolutions=[16],
                        image_channels=channels)
    d = build_discriminator("sagan32", K, channels=[16, 16, 16, 16],
                            attention_resolutions=[16], image_channels=channels)
    for net in (g, d):
        for layer in net.layers:
            if isinstance(layer, SelfAttention):
                layer.gamma.assign(0.7)
    return g, d


def test_default_is_rgb():
    assert presets.COMMON_DEFAULTS["image_channels"] == 3
    assert build_generator("sagan32", K, channels=[8, 8, 8]).output_shape[-1] == 3


@pytest.mark.parametrize("channels", [1, 4])
def test_generator_and_discriminator_equal_their_numpy_composition(channels):
    g, d = _nets(channels)
    assert tuple(g.output_shape) == (None, 32, 32, channels)
    assert tuple(d.input_shape[0]) == (None, 32, 32, channels)
    rng = np.random.RandomState(1)
    z = rng.randn(2, 128).astype("float32")
    labels = np.array([0, 2], np.int32)
    g([z, labels], training=True)  # u off its initial value
    images = g([z, labels], training=False).numpy()
    assert images.shape == (2, 32, 32, channels)
    np.testing.assert_allclose(
        images, reference.generator(g, z, labels, 4, [16, 16, 16], [16]),
        rtol=1e-4, atol=1e-4)
    d([images, labels], training=True)
    logits = d([images, labels], training=False).numpy()
    np.testing.assert_allclose(
        logits, reference.discriminator(d, images, labels, [True, True, False, False],
                                        [16]), rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("channels", [1, 4])
def test_a_sagan_step_trains_c_channel_networks(channels):
    g, d = _nets(channels)
    model = SAGAN(g, d, seed=0)
    model.compile(keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.01))
    before = [w.numpy() for w in g.trainable_variables + d.trainable_variables]
    images = tf.random.uniform((4, 32, 32, channels), -1, 1, seed=2)
    logs = model.train_step((images, tf.constant([0, 1, 2, 0])))
    assert np.isfinite(float(logs["d_loss"])) and np.isfinite(float(logs["g_loss"]))
    after = g.trainable_variables + d.trainable_variables
    assert all(np.abs(w.numpy() - b).max() > 0 for w, b in zip(after, before)
               if w.name != "gamma") and len(after) == len(before)


@pytest.mark.parametrize("bad", [0, -1, 2.0, True, None])
def test_image_channels_must_be_a_positive_integer(bad):
    for build in (build_generator, build_discriminator):
        with pytest.raises(ValueError, match="image_channels"):
            build("sagan32", K, image_channels=bad)

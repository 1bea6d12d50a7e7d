"""A 4-band (multispectral) model from NumPy arrays: data, two training steps, export
(signatures of 4 channels, equal to G), grids of the first three bands, and a
3-channel classifier refusing the images by name. In-process, tiny networks."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from export.module import GeneratorModule
from sagan_tf import build_discriminator, build_generator, noise
from sagan_tf.data import load_dataset
from sagan_tf.grid import make_grid
from sagan_tf.metrics.classifier import Classifier
from sagan_tf.sagan import SAGAN

BANDS = 4


def test_a_four_band_model_trains_exports_and_is_refused_by_rgb_classifiers(tmp_path):
    rng = np.random.RandomState(0)
    x = rng.uniform(0, 1, (8, 32, 32, BANDS)).astype(np.float32)
    ds, info = load_dataset((x, np.arange(8) % 2), resolution=32, global_batch_size=4,
                            value_range=(0, 1), image_channels=BANDS, seed=0)
    assert info.image_shape == (32, 32, BANDS)
    keras.utils.set_random_seed(0)
    nets = dict(attention_resolutions=[], image_channels=BANDS)
    g = build_generator("sagan32", 2, channels=[8, 8, 8], **nets)
    d = build_discriminator("sagan32", 2, channels=[8, 8, 8, 8], **nets)
    model = SAGAN(g, d, seed=0)
    model.compile(keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.01))
    before = g.get_layer("conv_out").kernel.numpy()
    for batch in ds.take(2):
        logs = model.train_step(batch)
    assert np.isfinite(float(logs["d_loss"]))
    assert np.abs(g.get_layer("conv_out").kernel.numpy() - before).max() > 0

    module = GeneratorModule(g, 2)
    path = str(tmp_path / "export")
    tf.saved_model.save(module, path, signatures=module.signatures())
    loaded = tf.saved_model.load(path)
    z, labels = noise.latents(1, 3, 128), tf.constant([0, 1, 1])
    out = loaded.signatures["serving_default"](z=z, labels=labels)
    expected = g([z, labels], training=False).numpy()
    assert out["images"].shape == (3, 32, 32, BANDS) and out["images"].dtype == tf.uint8
    np.testing.assert_allclose(out["images_float"].numpy(), expected, atol=1e-5)

    grid = make_grid(expected, rows=1, padding=0)
    np.testing.assert_array_equal(grid[:, :32], make_grid(expected[:1, ..., :3], 1, 0))

    rgb = Classifier(lambda t: (tf.reduce_mean(t, [1, 2]), t), input_size=8, name="inception")
    with pytest.raises(ValueError, match=r"Classifier 'inception' expects 3-channel images"
                                         r".*4-band \(multispectral\).*--classifier=domain"):
        rgb(expected)

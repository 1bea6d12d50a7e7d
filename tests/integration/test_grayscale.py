"""A 1-channel (grayscale) model end to end, from a folder of grey PNGs: train, export
(images of one channel from every signature), sample, evaluate (Inception-style
classifiers get the grey images tiled to RGB). In-process, tiny networks, 2 steps."""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf

from export import exporter, sampling
from sagan_tf import evaluation, noise, storage
from sagan_tf.data import digits_arrays
from sagan_tf.grid import make_grid
from sagan_tf.run_dir import RunDir
from sagan_tf.train_config import TrainConfig

from training import pipeline, trainer
from training import strategy as strategy_lib

# 35 s of programs; test_multispectral takes a non-RGB model through the same path.
pytestmark = pytest.mark.slow

GREY = dict(generator_overrides=dict(channels=[8, 8, 8], attention_resolutions=[],
                                     image_channels=1),
            discriminator_overrides=dict(channels=[8, 8, 8, 8], attention_resolutions=[],
                                         image_channels=1))


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("grey")
    folder, model_dir = str(root / "images"), str(root / "run")
    images, labels = digits_arrays("train", 8)
    grey = np.round((images[:12, ..., :1] + 1) * 127.5).astype(np.uint8)
    for i, (image, label) in enumerate(zip(grey, labels[:12])):
        storage.write_atomically(storage.join(folder, f"c{label % 2}", f"{i:03d}.png"),
                                 tf.io.encode_png(image).numpy())
    config = TrainConfig(model_dir=model_dir, dataset=folder, batch_size=4, steps=2,
                         checkpoint_every=1, sample_every=2, log_every=1, **GREY)
    assert config.image_channels == 1
    strategy = strategy_lib.create(config)
    dataset, config = pipeline.load(config)
    assert next(iter(dataset))[0].shape == (4, 32, 32, 1)
    model = trainer.build(config, strategy)
    assert trainer.fit(config, strategy, dataset, model)[0] == 2
    return model_dir, root


def test_train_export_and_sample_give_one_channel_images(run):
    model_dir, root = run
    generator = RunDir(model_dir).load_generator()[0]
    assert tuple(generator.output_shape) == (None, 32, 32, 1)
    grid = tf.io.decode_png(storage.read_bytes(
        storage.join(RunDir(model_dir).samples, "latest.png"))).numpy()
    assert grid.shape[-1] == 1  # a grey PNG
    version_dir = exporter.export_model_dir(model_dir, str(root / "serving"),
                                            warmup_batch_sizes=(2,))
    loaded = tf.saved_model.load(version_dir)
    z = noise.latents(5, 3, 128)
    labels = tf.constant([0, 1, 0])
    out = loaded.signatures["serving_default"](z=z, labels=labels)
    np.testing.assert_allclose(out["images_float"].numpy(),
                               generator([z, labels], training=False).numpy(), atol=1e-5)
    sheet = sampling.class_grid(sampling.Sampler.from_saved_model(version_dir), 2, labels=[1])
    assert sheet.images.shape[-1] == 1
    assert make_grid(sheet.images.reshape((-1,) + sheet.images.shape[-3:]), 1).shape[-1] == 1


def test_evaluation_of_a_grey_model_with_an_rgb_classifier(run):
    model_dir, root = run
    keras.utils.set_random_seed(0)
    classifier = keras.Sequential([
        keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(6, activation="relu"),
        keras.layers.Dense(2)])
    path = os.path.join(str(root), "classifier.keras")
    classifier.save(path)
    results = evaluation.run_evaluation(evaluation.EvalSettings(
        model_dir=model_dir, classifier=path, num_samples=8, batch_size=8,
        progress=False), verbose=0)
    assert np.isfinite(results["fid"]) and np.isfinite(results["inception_score"])

"""An unconditional model end to end, from a flat folder of images (no class
sub-folders): train, resume, export (signatures without labels, z's declared width,
warmup), sample from the run and from the export, evaluate; and checkpoints of the
other kind refused by name.

Everything runs in-process on tiny networks (8 channels, no attention), 2 steps; the resume is a
restore of the run's checkpoint into a newly built model (what `trainer.fit` does
first), without a second `fit`.
"""

import os

import keras
import numpy as np
import pytest
import tensorflow as tf
from tensorflow.core.protobuf import saved_model_pb2

from export import exporter, sampling, warmup
from sagan_tf import evaluation, noise, storage
from sagan_tf.data import digits_arrays
from sagan_tf.checkpoints import CheckpointError, make_checkpoint
from sagan_tf.run_dir import RunDir
from sagan_tf.train_config import TrainConfig, resume_config
from training import pipeline, trainer
from training import strategy as strategy_lib
from sagan_tf.checkpoints import CheckpointWriter

# No attention: less to trace, and nothing of this test is about it.
TINY = dict(generator_overrides=dict(channels=[8, 8, 8], attention_resolutions=[]),
            discriminator_overrides=dict(channels=[8, 8, 8, 8], attention_resolutions=[]))
LATENT = 128


def _write_flat_folder(root, n=12):
    """The first n digits as 8x8 PNGs directly in `root`."""
    images, _ = digits_arrays("train", 8)
    for i, image in enumerate(np.round((images[:n] + 1) * 127.5).astype(np.uint8)):
        storage.write_atomically(storage.join(root, f"{i:03d}.png"),
                                 tf.io.encode_png(image).numpy())


def _train(config):
    strategy = strategy_lib.create(config)
    dataset, config = pipeline.load(config)
    model = trainer.build(config, strategy)
    return trainer.fit(config, strategy, dataset, model)[0], config


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("unconditional")
    folder, model_dir = str(root / "images"), str(root / "run")
    _write_flat_folder(folder)
    config = TrainConfig(model_dir=model_dir, dataset=folder, batch_size=4, steps=2,
                         checkpoint_every=1, sample_every=2, log_every=1, **TINY)
    step, config = _train(config)
    assert step == 2
    return model_dir, root


def test_a_flat_folder_trains_an_unconditional_model(run):
    model_dir, _ = run
    config = RunDir(model_dir).load_config()
    assert config.unconditional and config.num_classes is None and config.class_names == ()
    generator, _, checkpoint = RunDir(model_dir).load_generator()
    assert checkpoint.endswith("ckpt-2") and [t.name for t in generator.inputs] == ["z"]
    # Resume: a new model of the saved config restores every weight of the run.
    model = trainer.build(config, tf.distribute.get_strategy())
    assert CheckpointWriter(model, model_dir, 3).restore_latest() == 2
    reader = tf.train.load_checkpoint(checkpoint)
    stored = sorted(reader.get_tensor(k).tolist() for k in reader.get_variable_to_shape_map()
                    if k.startswith("ema_generator/") and "/bn_1/gamma/" in k)
    restored = sorted(model.ema_generator.get_layer(f"block{i}").bn_1.gamma.numpy().tolist()
                      for i in (1, 2, 3))
    assert len(stored) == 3 and stored == restored and stored[0] != [1.0] * 8
    for a, b in zip(model.ema_generator.weights, generator.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    # The plain sample grid: 8 x 8 tiles, image i from row i of the SAMPLES stream.
    grid = tf.io.decode_png(storage.read_bytes(
        storage.join(RunDir(model_dir).samples, "latest.png"))).numpy()
    assert grid.shape == (8 * 34 + 2, 8 * 34 + 2, 3)
    z = noise.latents(0, 64, LATENT, stream=noise.SAMPLES)
    images = np.asarray(generator(z, training=False))
    for i in (0, 13, 63):
        r, c = divmod(i, 8)
        tile = grid[2 + 34 * r:34 * (r + 1), 2 + 34 * c:34 * (c + 1)].astype(int)
        expected = np.clip(np.round((images[i] + 1) * 127.5), 0, 255)
        assert np.abs(tile - expected).max() <= 1


def test_export_signatures_take_no_labels_and_declare_z(run):
    model_dir, root = run
    base = str(root / "serving")
    version_dir = exporter.export_model_dir(model_dir, base, warmup_batch_sizes=(2,))
    saved = saved_model_pb2.SavedModel.FromString(
        storage.read_bytes(os.path.join(version_dir, "saved_model.pb")))
    (meta,) = [m for m in saved.meta_graphs if "serve" in m.meta_info_def.tags]
    serving, generate = meta.signature_def["serving_default"], meta.signature_def["generate"]
    assert set(serving.inputs) == {"z"}
    assert [d.size for d in serving.inputs["z"].tensor_shape.dim] == [-1, LATENT]
    assert set(generate.inputs) == {"seed", "truncation", "num_images"}
    info = storage.read_json(os.path.join(version_dir, "assets.extra", "sagan_tf.json"))
    assert info["unconditional"] and info["num_classes"] is None
    logs = warmup.read_warmup_file(version_dir)
    assert [sorted(log.predict_log.request.inputs) for log in logs] == [
        ["z"], ["num_images", "seed", "truncation"], ["seed"]]

    generator = RunDir(model_dir).load_generator()[0]
    loaded = tf.saved_model.load(version_dir)
    z = noise.latents(5, 3, LATENT)
    np.testing.assert_allclose(
        loaded.signatures["serving_default"](z=z)["images_float"].numpy(),
        generator(z, training=False).numpy(), atol=1e-5)
    out = loaded.signatures["generate"](seed=tf.constant(7, tf.int64),
                                        truncation=tf.constant(0.0),
                                        num_images=tf.constant(4))
    z7 = noise.latents(7, 4, LATENT, stream=noise.SERVING)
    np.testing.assert_allclose(out["images_float"].numpy(),
                               generator(z7, training=False).numpy(), atol=1e-5)
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"`z` must be \[N, 128\] \(latent_dim = 128\)"):
        loaded.signatures["serving_default"](z=tf.zeros([2, 7]))

    # sagan-sample's sheets: the same pixels from the run and from the export.
    from_run = sampling.Sampler.from_model_dir(model_dir)
    from_export = sampling.Sampler.from_saved_model(version_dir)
    assert not from_run.conditional and not from_export.conditional
    sheet = sampling.plain_grid(from_export, 2, 3, seed=7)
    assert sheet.images.shape[:2] == (2, 3) and sheet.labels is None
    np.testing.assert_allclose(sheet.images.reshape(6, 32, 32, 3)[:4],
                               out["images_float"].numpy(), atol=1e-5)
    np.testing.assert_allclose(sampling.plain_grid(from_run, 2, 3, seed=7).images,
                               sheet.images, atol=1e-5)
    with pytest.raises(ValueError, match="unconditional: it has no classes"):
        sampling.class_grid(from_run, 2, labels=[1])


def test_evaluation_has_fid_kid_is_and_no_class_metrics(run):
    model_dir, root = run
    keras.utils.set_random_seed(0)
    classifier = keras.Sequential([  # an untrained 10-class CNN: a measuring stand-in
        keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3, strides=2, activation="relu"),
        keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(6, activation="relu"),
        keras.layers.Dense(10)])
    path = str(root / "classifier.keras")
    classifier.save(path)
    results = evaluation.run_evaluation(evaluation.EvalSettings(
        model_dir=model_dir, dataset="digits", classifier=path, num_samples=8,
        batch_size=8, progress=False), verbose=0)
    assert results["num_classes"] is None
    assert np.isfinite(results["fid"]) and np.isfinite(results["inception_score"])
    assert results["kid"] is not None
    assert results["intra_fid"] is None and results["class_accuracy"] is None


def test_checkpoints_of_the_other_kind_are_refused_by_name(run, tmp_path):
    model_dir, _ = run
    unconditional_ckpt = RunDir(model_dir).latest_checkpoint()
    # A class-conditional run (3 classes) with a checkpoint of its own.
    conditional = TrainConfig(model_dir=str(tmp_path / "cond"), num_classes=3,
                              class_names=("a", "b", "c"), **TINY)
    model = trainer.build(conditional, tf.distribute.get_strategy())
    RunDir(conditional.model_dir).save_config(conditional)
    conditional_ckpt = make_checkpoint(model).save(
        storage.join(RunDir(conditional.model_dir).checkpoints, "ckpt"))
    with pytest.raises(CheckpointError, match=r"holds a class-conditional ema_generator, "
                                              r"but the model .* is unconditional"):
        RunDir(model_dir).load_generator(checkpoint=conditional_ckpt)
    with pytest.raises(CheckpointError, match=r"holds an unconditional ema_generator, "
                                              r"but the model .* is class-conditional"):
        RunDir(conditional.model_dir).load_generator(checkpoint=unconditional_ckpt)
    # Resuming the unconditional run as a conditional one is a named conflict too.
    with pytest.raises(ValueError, match="unconditional: saved True, requested False"):
        resume_config(RunDir(model_dir).load_config(),
                      {"model_dir": model_dir, "unconditional": False})

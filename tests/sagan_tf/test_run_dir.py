"""sagan_tf.run_dir: the config, checkpoints and exports of a run directory."""

import uuid

import keras
import numpy as np
import pytest
import tensorflow as tf

from sagan_tf import storage
from sagan_tf.run_dir import (RunDir, checkpoint_step, export_versions, make_checkpoint,
                              resolve_saved_model)
from sagan_tf.train_config import TrainConfig, build_model, compile_model

TINY = dict(generator_overrides=dict(channels=[16, 16, 16]),
            discriminator_overrides=dict(channels=[16, 16, 16, 16]))


def _config(model_dir, **changes):
    return TrainConfig(model_dir=str(model_dir), num_classes=10,
                       class_names=tuple("0123456789"), **{**TINY, **changes})


def _saved_run(model_dir, step, ema_decay=0.5):
    """A run directory with a config and one checkpoint whose G and EMA G differ."""
    config = _config(model_dir, ema_decay=ema_decay)
    keras.utils.set_random_seed(0)
    model = build_model(config)
    compile_model(model, config)
    if model.ema_generator is not None:
        for w in model.ema_generator.trainable_weights:
            w.assign(w * 0.5)
    model.g_optimizer.iterations.assign(step)
    run = RunDir(model_dir)
    run.save_config(config)
    tf.train.CheckpointManager(make_checkpoint(model), run.checkpoints, 2).save(
        checkpoint_number=100 + step)  # a file number unlike the step
    return model, config


@pytest.mark.parametrize("where", ["local", "ram"])
def test_config_round_trips_through_the_run_directory(tmp_path, where):
    model_dir = str(tmp_path) if where == "local" else f"ram://{uuid.uuid4().hex}/run"
    run = RunDir(model_dir)
    assert run.load_config_if_exists() is None
    config = _config(model_dir, ema_decay=None, d_steps=2)
    run.save_config(config)
    assert run.load_config() == config
    assert storage.read_json(run.config_file)["generator_overrides"] == {
        "channels": [16, 16, 16]}


def test_missing_config_names_the_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="No config.json in model_dir"):
        RunDir(tmp_path / "nothing").load_config()


def test_load_generator_restores_the_ema_or_the_raw_generator(tmp_path):
    model, config = _saved_run(tmp_path, step=3)
    z = tf.random.stateless_normal([3, 128], seed=[1, 2])
    labels = tf.constant([0, 4, 9])
    for use_ema, source in ((True, model.ema_generator), (False, model.generator)):
        generator, loaded, checkpoint = RunDir(tmp_path).load_generator(use_ema=use_ema)
        assert loaded == config and checkpoint.endswith("ckpt-103")
        np.testing.assert_allclose(generator([z, labels]), source([z, labels]), atol=1e-6)
    diff = np.abs(model.ema_generator([z, labels]) - model.generator([z, labels])).max()
    assert diff > 1e-3  # the two differ: the test tells them apart
    RunDir(tmp_path / "new").save_config(_config(tmp_path / "new"))
    with pytest.raises(FileNotFoundError, match="has not saved one yet"):
        RunDir(tmp_path / "new").load_generator()


def test_checkpoint_step_is_the_stored_g_step_not_the_file_number(tmp_path):
    _saved_run(tmp_path, step=7)
    assert checkpoint_step(RunDir(tmp_path).latest_checkpoint()) == 7


def test_resolve_saved_model_takes_the_highest_version_with_a_saved_model(tmp_path):
    for version in (1, 3, 12):
        storage.write_atomically(str(tmp_path / str(version) / "saved_model.pb"), b"x")
    storage.makedirs(str(tmp_path / "20"))  # no saved_model.pb: not a version to serve
    storage.makedirs(str(tmp_path / ".tmp-21-abc"))
    assert export_versions(str(tmp_path)) == [1, 3, 12, 20]
    assert resolve_saved_model(str(tmp_path)) == str(tmp_path / "12")
    assert resolve_saved_model(str(tmp_path / "3")) == str(tmp_path / "3")
    with pytest.raises(FileNotFoundError, match="No SavedModel in"):
        resolve_saved_model(str(tmp_path / "20"))


def test_a_truncated_newest_checkpoint_is_refused_with_the_one_that_restores(tmp_path):
    _saved_run(tmp_path, step=3)
    run = RunDir(tmp_path)
    older = run.latest_checkpoint()
    model, _ = _saved_run(tmp_path, step=5)  # ckpt-105, the newest
    newest = run.latest_checkpoint()
    data = tf.io.gfile.glob(newest + ".data-*")[0]
    with open(data, "r+b") as f:
        f.truncate(100)
    with pytest.raises(ValueError, match=f"Checkpoint {newest} cannot be read.*"
                                         f"--checkpoint={older}"):
        run.load_generator()
    generator, _, used = run.load_generator(checkpoint=older)  # the named one works
    assert used == older


def test_the_newest_checkpoint_comes_from_the_files_without_a_state_file(tmp_path, caplog):
    _saved_run(tmp_path, step=3)
    run = RunDir(tmp_path)
    newest = run.latest_checkpoint()
    (tmp_path / "checkpoints" / "checkpoint").unlink()
    assert run.latest_checkpoint() == newest
    assert "is missing" in caplog.text
    assert run.repair_checkpoint_state()
    assert tf.train.latest_checkpoint(run.checkpoints) == newest

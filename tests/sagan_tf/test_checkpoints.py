"""sagan_tf.checkpoints: writing, finding, repairing and restoring a run's checkpoints."""

import os
import tempfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.checkpoints import (CheckpointError, CheckpointWriter, checkpoint_step,
                                  latest_checkpoint, load_generator, make_checkpoint,
                                  repair_checkpoint_state)
from sagan_tf.models import build_model, compile_model
from sagan_tf.run_dir import RunDir
from sagan_tf.train_config import TrainConfig
from tiny_models import TINY


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


def _state(model):
    """Every number a resumed run depends on: weights (with SN u, BN statistics, EMA)
    and both optimizers' variables (with their step counters)."""
    nets = [model.generator, model.discriminator, model.ema_generator]
    return ([w for net in nets for w in net.get_weights()]
            + [v.numpy() for opt in (model.g_optimizer, model.d_optimizer)
               for v in opt.variables])


def _trained(tiny, config, steps):
    model = tiny.model(config)
    for batch in tiny.digits().take(steps):
        model.train_step(batch)
    return model


def test_restore_gives_back_the_whole_training_state(tiny, tmp_path):
    config = tiny.config(tmp_path)
    model = _trained(tiny, config, 2)
    writer = CheckpointWriter(model, str(tmp_path), max_to_keep=3)
    assert writer.restore_latest() == 0  # nothing saved yet
    path = writer.save()
    assert path == os.path.join(str(tmp_path), "checkpoints", "ckpt-2")

    fresh = tiny.model(config, seed=1)  # other initial weights
    before = _state(fresh)
    assert CheckpointWriter(fresh, str(tmp_path), 3).restore_latest() == 2
    saved, restored = _state(model), _state(fresh)
    assert len(saved) == len(restored) > 100
    for a, b in zip(saved, restored):
        np.testing.assert_array_equal(a, b)
    assert any(not np.array_equal(a, b) for a, b in zip(before, restored))
    # Adam's moments are part of it (not only the weights).
    assert np.abs(fresh.d_optimizer.variables[2].numpy()).max() > 0


def test_keeps_the_last_k_checkpoints_numbered_by_step(tiny, tmp_path):
    model = tiny.model(tiny.config(tmp_path))
    writer = CheckpointWriter(model, str(tmp_path), max_to_keep=2)
    for step in (3, 6, 9):
        model.g_optimizer.iterations.assign(step)
        writer.save()
    assert writer.last_saved_step == 9
    names = sorted(f for f in os.listdir(tmp_path / "checkpoints") if f.endswith(".index"))
    assert names == ["ckpt-6.index", "ckpt-9.index"]
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith("ckpt-9")


def test_non_chief_saves_to_a_temporary_directory_and_deletes_it(tiny, tmp_path,
                                                                 monkeypatch):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    model = tiny.model(tiny.config(tmp_path))
    writer = CheckpointWriter(model, str(tmp_path / "run"), 2, chief=False)
    real_save = tf.train.CheckpointManager.save
    written = []

    def spy(manager, *args, **kwargs):
        path = real_save(manager, *args, **kwargs)
        written.append((path, os.path.exists(path + ".index")))
        return path

    monkeypatch.setattr(tf.train.CheckpointManager, "save", spy)
    assert writer.save() is None
    assert len(written) == 1 and written[0][1]  # it did write a checkpoint ...
    assert written[0][0].startswith(str(scratch))  # ... in the temporary directory,
    assert os.listdir(scratch) == []  # which is gone,
    assert not os.path.exists(tmp_path / "run" / "checkpoints")  # and not the chief's.


def _saved_steps(tiny, tmp_path, steps=(2, 4, 6)):
    """A run directory with checkpoints at `steps`; returns the model at the last."""
    config = tiny.config(tmp_path)
    model = tiny.model(config)
    writer = CheckpointWriter(model, str(tmp_path), max_to_keep=5)
    for step in steps:
        model.g_optimizer.iterations.assign(step)
        writer.save()
    return config, model


def _files(directory):
    return sorted(os.listdir(directory))


@pytest.mark.parametrize("damage", ["deleted", "garbled",
                                    pytest.param("stale", marks=pytest.mark.slow)])
def test_a_damaged_state_file_never_turns_a_run_into_a_new_one(tiny, tmp_path, damage,
                                                               caplog):
    config, _ = _saved_steps(tiny, tmp_path)
    state = tmp_path / "checkpoints" / "checkpoint"
    files = [f for f in _files(tmp_path / "checkpoints") if f != "checkpoint"]
    if damage == "deleted":
        state.unlink()
    elif damage == "garbled":
        state.write_text("model_checkpoint_path: {{{ not a proto")
    else:  # names only an old checkpoint
        state.write_text('model_checkpoint_path: "ckpt-2"\nall_model_checkpoint_paths: "ckpt-2"\n')
    fresh = tiny.model(config)
    writer = CheckpointWriter(fresh, str(tmp_path), max_to_keep=5)
    assert writer.restore_latest() == 6  # from the files themselves
    assert "checkpoint state file" in caplog.text
    restored = tf.train.get_checkpoint_state(str(tmp_path / "checkpoints"))
    assert [os.path.basename(p) for p in restored.all_model_checkpoint_paths] == [
        "ckpt-2", "ckpt-4", "ckpt-6"]
    fresh.g_optimizer.iterations.assign(8)
    writer.save()  # the manager knows all of them: nothing the run wrote is overwritten
    assert set(files) <= set(_files(tmp_path / "checkpoints"))


def _truncate(prefix):
    data = tf.io.gfile.glob(prefix + ".data-*")[0]
    size = os.path.getsize(data)
    with open(data, "r+b") as f:
        f.truncate(size // 2)


def test_a_truncated_newest_checkpoint_falls_back_and_is_kept(tiny, tmp_path, caplog):
    config, _ = _saved_steps(tiny, tmp_path)
    _truncate(str(tmp_path / "checkpoints" / "ckpt-6"))
    writer = CheckpointWriter(tiny.model(config), str(tmp_path), max_to_keep=5)
    assert writer.restore_latest() == 4
    assert "ckpt-6 does not restore" in caplog.text  # named in the warning
    damaged = tmp_path / "checkpoints" / "damaged"
    assert _files(damaged) == ["ckpt-6.data-00000-of-00001", "ckpt-6.index"]  # not deleted
    state = tf.train.get_checkpoint_state(str(tmp_path / "checkpoints"))
    assert os.path.basename(state.model_checkpoint_path) == "ckpt-4"


def test_no_restorable_checkpoint_is_refused_by_name(tiny, tmp_path):
    config, _ = _saved_steps(tiny, tmp_path, steps=(2, 4))
    for step in (2, 4):
        _truncate(str(tmp_path / "checkpoints" / f"ckpt-{step}"))
    writer = CheckpointWriter(tiny.model(config), str(tmp_path), max_to_keep=5)
    with pytest.raises(CheckpointError, match="None of the 2 checkpoint"):
        writer.restore_latest()
    with pytest.raises(CheckpointError, match="only damaged checkpoints"):
        CheckpointWriter(tiny.model(config), str(tmp_path), max_to_keep=5).restore_latest()


def test_load_generator_restores_the_ema_or_the_raw_generator(tmp_path):
    model, config = _saved_run(tmp_path, step=3)
    z = tf.random.stateless_normal([3, 128], seed=[1, 2])
    labels = tf.constant([0, 4, 9])
    for use_ema, source in ((True, model.ema_generator), (False, model.generator)):
        generator, loaded, checkpoint = load_generator(tmp_path, use_ema=use_ema)
        assert loaded == config and checkpoint.endswith("ckpt-103")
        np.testing.assert_allclose(generator([z, labels]), source([z, labels]), atol=1e-6)
    diff = np.abs(model.ema_generator([z, labels]) - model.generator([z, labels])).max()
    assert diff > 1e-3  # the two differ: the test tells them apart
    RunDir(tmp_path / "new").save_config(_config(tmp_path / "new"))
    with pytest.raises(FileNotFoundError, match="has not saved one yet"):
        load_generator(tmp_path / "new")


def test_checkpoint_step_is_the_stored_g_step_not_the_file_number(tmp_path):
    _saved_run(tmp_path, step=7)
    assert checkpoint_step(latest_checkpoint(tmp_path)) == 7


def test_a_truncated_newest_checkpoint_is_refused_with_the_one_that_restores(tmp_path):
    _saved_run(tmp_path, step=3)
    run = RunDir(tmp_path)
    older = latest_checkpoint(run)
    model, _ = _saved_run(tmp_path, step=5)  # ckpt-105, the newest
    newest = latest_checkpoint(run)
    data = tf.io.gfile.glob(newest + ".data-*")[0]
    with open(data, "r+b") as f:
        f.truncate(100)
    with pytest.raises(ValueError, match=f"Checkpoint {newest} cannot be read.*"
                                         f"--checkpoint={older}"):
        load_generator(run)
    generator, _, used = load_generator(run, checkpoint=older)  # the named one works
    assert used == older


def test_the_newest_checkpoint_comes_from_the_files_without_a_state_file(tmp_path, caplog):
    _saved_run(tmp_path, step=3)
    run = RunDir(tmp_path)
    newest = latest_checkpoint(run)
    (tmp_path / "checkpoints" / "checkpoint").unlink()
    assert latest_checkpoint(run) == newest
    assert "is missing" in caplog.text
    assert repair_checkpoint_state(run)
    assert tf.train.latest_checkpoint(run.checkpoints) == newest

import os
import tempfile

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.run_dir import CheckpointError
from training.checkpointing import CheckpointWriter


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

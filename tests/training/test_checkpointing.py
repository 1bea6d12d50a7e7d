import os
import tempfile

import numpy as np
import tensorflow as tf

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

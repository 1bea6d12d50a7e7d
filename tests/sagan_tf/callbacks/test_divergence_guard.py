"""A fit poisoned mid-way (D's learning rate set to 1e30 after step 2) stops at the first
non-finite step with a message naming it and the last good checkpoint, writes no
checkpoint from the diverged state, and restores from the kept one (the whole
program's run: tests/training/test_trainer_divergence.py)."""

import os

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.callbacks import DivergenceGuard, PerStepMetrics, PeriodicCheckpoint
from sagan_tf.checkpoints import CheckpointWriter
from poisoned_training import Poison, checkpoint_steps
from sagan_tf.divergence import DivergenceError, state_variables


def test_the_guard_stops_the_first_non_finite_step_before_it_is_saved(tiny, tmp_path):
    model = tiny.model(tiny.config(tmp_path))
    writer = CheckpointWriter(model, str(tmp_path), max_to_keep=5)
    recorder = tiny.Recorder()
    callbacks = [PerStepMetrics(), DivergenceGuard(writer), recorder, Poison(at=2),
                 PeriodicCheckpoint(writer, every=2)]
    with pytest.raises(DivergenceError) as raised:
        model.fit(tiny.digits(), steps_per_epoch=6, verbose=0, callbacks=callbacks)
    # Step 3 ran with D's 1e30 rate: its G loss is already NaN. No later callback saw it.
    assert recorder.steps == [1, 2]
    ckpt2 = os.path.join(str(tmp_path), "checkpoints", "ckpt-2")
    assert str(raised.value).startswith("Training diverged at step 3: non-finite g_loss=nan")
    assert f"The last good checkpoint is {ckpt2} (step 2)" in str(raised.value)
    assert checkpoint_steps(str(tmp_path)) == [2]
    fresh = tiny.model(tiny.config(tmp_path), seed=1)
    assert CheckpointWriter(fresh, str(tmp_path), 5).restore_latest() == 2
    for name, v in state_variables(fresh).items():
        assert np.isfinite(v.numpy()).all(), name


def test_the_writer_refuses_a_non_finite_state(tiny, tmp_path):
    model = tiny.model(tiny.config(tmp_path))
    writer = CheckpointWriter(model, str(tmp_path), max_to_keep=3)
    model.g_optimizer.iterations.assign(5)
    assert writer.save().endswith("ckpt-5")
    model.g_optimizer.iterations.assign(6)
    kernel = model.discriminator.trainable_variables[0]
    kernel.assign(tf.fill(kernel.shape, np.inf))
    with pytest.raises(DivergenceError, match="Training diverged at step 6: non-finite "
                                              f"discriminator/{kernel.path}"):
        writer.save()
    assert checkpoint_steps(str(tmp_path)) == [5]
    assert writer.last_saved_step == 5

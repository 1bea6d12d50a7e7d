"""sagan-train's trainer poisoned mid-way (D's learning rate set to 1e30 after step 3):
stops at once, keeps the last good checkpoint, and resumes from it."""

import os

import numpy as np
import pytest
import tensorflow as tf

from poisoned_training import Poison, checkpoint_steps
from sagan_tf.divergence import DivergenceError, state_variables
from training import pipeline, trainer


@pytest.mark.slow
def test_a_diverging_run_stops_at_once_and_the_last_good_checkpoint_resumes(tiny, tmp_path):
    config = tiny.config(tmp_path, steps=8, checkpoint_every=3, sample_every=100,
                         log_every=1, num_classes=None, class_names=())
    strategy = tf.distribute.get_strategy()
    dataset, config = pipeline.load(config)
    model = trainer.build(config, strategy)
    with pytest.raises(DivergenceError) as raised:
        trainer.fit(config, strategy, dataset, model, evaluations=Poison(at=3))
    message = str(raised.value)
    stop = int(model.g_optimizer.iterations.numpy())
    assert stop == 4  # D's update with Adam at 1e30 makes G's loss of the same step NaN
    ckpt3 = os.path.join(str(tmp_path), "checkpoints", "ckpt-3")
    assert message.startswith(f"Training diverged at step {stop}: non-finite ")
    assert f"The last good checkpoint is {ckpt3} (step 3)" in message
    assert checkpoint_steps(str(tmp_path)) == [3]  # nothing from the diverged state

    # The kept checkpoint restores, finite, into a fresh model; the run resumes from it
    # with a lower D learning rate (the checkpoint holds the old one).
    dataset, config = pipeline.load(config.replace(steps=4, d_lr=1e-5))
    fresh = trainer.build(config, strategy)
    assert trainer.fit(config, strategy, dataset, fresh) == (4, None)
    assert float(fresh.d_optimizer.learning_rate.numpy()) == pytest.approx(1e-5)
    for name, v in state_variables(fresh).items():
        assert np.isfinite(v.numpy()).all(), name
    assert checkpoint_steps(str(tmp_path)) == [3, 4]

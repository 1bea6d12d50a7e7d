"""Saving and restoring the checkpoints of a training run (layout: `sagan_tf.run_dir`)."""

import shutil
import tempfile

import tensorflow as tf

from sagan_tf.run_dir import RunDir, make_checkpoint


class CheckpointWriter:
    """Saves and restores a run's checkpoints, the chief's way and the other workers'.

    The chief saves into model_dir/checkpoints, keeping the last `max_to_keep`.
    Under MultiWorkerMirroredStrategy every worker must take part in a save (it may
    run collective ops), so the other workers save into a local temporary directory of
    their own, which they delete straight away. Every worker restores from
    model_dir/checkpoints (a file system they share).
    """

    def __init__(self, model, model_dir, max_to_keep, chief=True):
        self.chief = chief
        self.directory = RunDir(model_dir).checkpoints
        self.checkpoint = make_checkpoint(model)
        self._iterations = model.g_optimizer.iterations
        self._manager = tf.train.CheckpointManager(self.checkpoint, self.directory,
                                                   max_to_keep=max_to_keep)
        self.last_saved_step = None

    @property
    def step(self):
        return int(self._iterations.numpy())

    def restore_latest(self):
        """Restores the latest checkpoint, if any; returns its step (0 for a new run)."""
        latest = self._manager.latest_checkpoint
        if latest is None:
            return 0
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        self.last_saved_step = self.step
        return self.step

    def save(self):
        """Saves the current state, numbered by the step; returns the chief's path."""
        step = self.step
        if self.chief:
            path = self._manager.save(checkpoint_number=step)
        else:
            tmp = tempfile.mkdtemp(prefix="sagan-worker-ckpt-")  # local scratch, not a run
            try:
                tf.train.CheckpointManager(self.checkpoint, tmp, max_to_keep=1).save(
                    checkpoint_number=step)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            path = None
        self.last_saved_step = step
        return path

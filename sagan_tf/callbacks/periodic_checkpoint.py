"""Saves a checkpoint every N steps and when training ends."""

import keras
from absl import logging


class PeriodicCheckpoint(keras.callbacks.Callback):
    """Calls `writer.save()` after every step divisible by `every`, and at the end.

    Runs on every worker: under MultiWorkerMirroredStrategy all of them take part in
    a save (`sagan_tf.checkpoints.CheckpointWriter` decides where each one writes).

    Args:
        writer: a `CheckpointWriter` (anything with `save()`, `step` and
            `last_saved_step`).
        every: save after steps divisible by this.
    """

    def __init__(self, writer, every):
        super().__init__()
        self.writer = writer
        self.every = int(every)

    def on_train_batch_end(self, batch, logs=None):
        step = self.writer.step
        if step % self.every == 0:
            self._save(step)

    def on_train_end(self, logs=None):
        self.save_if_needed()

    def save_if_needed(self):
        """Saves unless the current step is saved already (e.g. at the end of training,
        or after an interruption)."""
        step = self.writer.step
        if self.writer.last_saved_step != step:
            self._save(step)

    def _save(self, step):
        path = self.writer.save()
        if path:
            logging.info("Step %d: saved %s", step, path)

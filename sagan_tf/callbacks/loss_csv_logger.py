"""Appends every step's losses to a CSV file (to compare runs)."""

import csv
import io

import keras
import numpy as np
import tensorflow as tf

from sagan_tf import storage

COLUMNS = ("step", "d_loss", "g_loss", "d_real", "d_fake")


class LossCSVLogger(keras.callbacks.Callback):
    """Writes `step,d_loss,g_loss,d_real,d_fake`, one row per step, flushed as written
    (through `tf.io.gfile`'s append mode, so the file may be on any TF filesystem).

    A resumed run first drops the rows after its checkpoint's step (written by the
    interrupted run after its last checkpoint, and about to be trained again), so the
    file holds one row per step of the run's history.

    Args:
        path: the CSV file.
        start_step: the step the run starts from (0, or the restored checkpoint's).
    """

    def __init__(self, path, start_step=0):
        super().__init__()
        self.path = path
        self.start_step = int(start_step)
        self._file = None
        self._writer = None

    def on_train_begin(self, logs=None):
        rows = []
        if storage.exists(self.path):
            rows = [r for r in csv.DictReader(io.StringIO(storage.read_text(self.path)))
                    if int(r["step"]) <= self.start_step]
        text = io.StringIO()
        writer = csv.DictWriter(text, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        storage.write_atomically(self.path, text.getvalue())
        self._file = tf.io.gfile.GFile(self.path, "a")  # pylint: disable=consider-using-with
        self._writer = csv.writer(self._file, lineterminator="\n")

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        step = int(self.model.g_optimizer.iterations.numpy())
        self._writer.writerow([step] + [repr(_scalar(logs[name])) for name in COLUMNS[1:]])
        self._file.flush()

    def on_train_end(self, logs=None):
        if self._file is not None:
            self._file.close()
            self._file = None


def _scalar(value):
    """A float from a log value (a Python/NumPy scalar or a shape-[1] array)."""
    return float(np.asarray(value, np.float64).reshape(()))


def read_losses(path):
    """The CSV as {column: list of floats}, in step order (step as int)."""
    rows = list(csv.DictReader(io.StringIO(storage.read_text(path))))
    return {name: [int(r[name]) if name == "step" else float(r[name]) for r in rows]
            for name in COLUMNS}

"""Stops training cleanly on SIGTERM or Ctrl-C, after the current step."""

import signal

import keras
from absl import logging


class StopOnSignal(keras.callbacks.Callback):
    """On SIGTERM or SIGINT, finishes the running step, then stops `fit`.

    `fit` then ends normally: `on_train_end` callbacks run, so the final checkpoint
    (see `PeriodicCheckpoint`) is saved. A second SIGINT raises KeyboardInterrupt at
    once (the caller still saves: the model's state is consistent between ops).
    Handlers are installed for the duration of `fit` and then restored.

    Attributes:
        received: the signal number that stopped training, or None.
    """

    def __init__(self, signals=(signal.SIGTERM, signal.SIGINT)):
        super().__init__()
        self.signals = tuple(signals)
        self.received = None
        self._previous = {}

    def _handle(self, signum, frame):
        del frame
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = signum
        logging.warning("Received %s: stopping after this step (again to abort).",
                        signal.Signals(signum).name)

    def on_train_begin(self, logs=None):
        self.received = None
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self._handle)

    def on_train_batch_end(self, batch, logs=None):
        if self.received is not None:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}

"""Stops training cleanly on SIGTERM or Ctrl-C, after the current step."""

import signal

import keras
from absl import logging


class StopOnSignal(keras.callbacks.Callback):
    """On SIGTERM or SIGINT, finishes the running step, then stops `fit`.

    `fit` then ends normally: `on_train_end` callbacks run, so the final checkpoint
    (see `PeriodicCheckpoint`) is saved. A second SIGINT raises KeyboardInterrupt at
    once (the caller still saves: the model's state is consistent between ops).

    Once the epoch has ended (`on_epoch_end`, before any `on_train_end`) and until
    `restore()`, further signals are logged and ignored, so that the final save
    happens whatever signals follow. Put this callback after the checkpoint callback:
    its `on_train_end` restores the previous handlers, after the save. A caller that
    catches KeyboardInterrupt calls `hold()`, saves, then `restore()`.

    Attributes:
        received: the signal number that stopped training, or None.
    """

    def __init__(self, signals=(signal.SIGTERM, signal.SIGINT)):
        super().__init__()
        self.signals = tuple(signals)
        self.received = None
        self._previous = {}
        self._holding = False

    def _handle(self, signum, frame):
        del frame
        name = signal.Signals(signum).name
        if self._holding:
            logging.warning("Received %s while saving the final checkpoint: the save "
                            "finishes first.", name)
            return
        if self.received is not None and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.received = self.received or signum
        logging.warning("Received %s: stopping after this step (Ctrl-C again to abort "
                        "the step; the state is saved either way).", name)

    def on_train_begin(self, logs=None):
        self.received = None
        self._holding = False
        for signum in self.signals:
            self._previous[signum] = signal.signal(signum, self._handle)

    def on_train_batch_end(self, batch, logs=None):
        if self.received is not None:
            self.model.stop_training = True

    def on_epoch_end(self, epoch, logs=None):
        self.hold()

    def on_train_end(self, logs=None):
        self.restore()

    def hold(self):
        """From now on, signals no longer interrupt: the final save is under way."""
        self._holding = True

    def restore(self):
        """Puts the handlers back that were there before training."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous = {}
        self._holding = False

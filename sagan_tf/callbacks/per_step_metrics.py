"""Makes `fit`'s logs the losses of each step instead of running means."""

import keras


class PerStepMetrics(keras.callbacks.Callback):
    """Resets SAGAN's loss trackers before every step.

    Keras' metrics average over an epoch; a training run is one long epoch, so the
    logs would be means since the run started. With this callback first in the list,
    every callback (and the progress bar) sees the step's own losses.
    """

    def on_train_batch_begin(self, batch, logs=None):
        self.model.reset_metrics()

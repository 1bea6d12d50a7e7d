"""Keras' progress bar, except that a run stopped early does not show a full bar."""

import keras


class ProgressBar(keras.callbacks.ProgbarLogger):
    """`keras.callbacks.ProgbarLogger`, finishing at the step reached when training
    stops early (a signal, a divergence guard): Keras' own jumps to the target, so a
    run stopped at step 3 of 10 would look complete. Passed to `fit`, it replaces the
    default bar."""

    def on_epoch_end(self, epoch, logs=None):
        if self.model.stop_training and self.progbar is not None and self.verbose == 1:
            self.progbar.update(self.seen, list((logs or {}).items()), finalize=True)
            return
        super().on_epoch_end(epoch, logs)

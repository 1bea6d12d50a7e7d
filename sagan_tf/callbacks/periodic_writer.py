"""The schedule shared by the callbacks that write something every N training steps."""

import keras


class PeriodicWriter(keras.callbacks.Callback):
    """Calls `write(step)` after every step divisible by `every`, and once more at the
    end of training unless the last step was just written. Subclasses implement
    `write(step)`, which records `self.last_step = step`. The step is the number of G
    updates, `model.g_optimizer.iterations`, so the schedule survives a resume.
    """

    def __init__(self, every):
        super().__init__()
        self.every = int(every)
        self.last_step = None

    @property
    def step(self):
        return int(self.model.g_optimizer.iterations.numpy())

    def on_train_batch_end(self, batch, logs=None):
        step = self.step
        if step % self.every == 0:
            self.write(step)

    def on_train_end(self, logs=None):
        if self.step != self.last_step:
            self.write(self.step)

    def write(self, step):
        raise NotImplementedError

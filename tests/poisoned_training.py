"""Helpers of the divergence tests (the library's guard and the program's trainer)."""

import os

import keras


class Poison(keras.callbacks.Callback):
    """After G step `at`: D's learning rate becomes `lr` (1e30: the next step diverges)."""

    def __init__(self, at, lr=1e30):
        super().__init__()
        self.at, self.lr = at, lr

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations.numpy()) == self.at:
            self.model.d_optimizer.learning_rate = self.lr


def checkpoint_steps(model_dir):
    """The steps of the `ckpt-N` files in `model_dir/checkpoints`, sorted."""
    names = os.listdir(os.path.join(model_dir, "checkpoints"))
    return sorted(int(n[len("ckpt-"):-len(".index")]) for n in names if n.endswith(".index"))

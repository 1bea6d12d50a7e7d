"""Stops training at the first step whose losses or weights are not finite."""

import keras

from sagan_tf import divergence


class DivergenceGuard(keras.callbacks.Callback):
    """After every step: when the step's `d_loss` or `g_loss` is NaN or inf, or any
    variable a checkpoint holds is (G, D, the EMA generator, the optimizers' state),
    raises `divergence.DivergenceError` at once, with a message that names the step,
    what was not finite and the last good checkpoint. Put it before the callbacks that
    write (checkpoints, summaries), so none of them sees the step; the checkpoint
    writer refuses a non-finite state anyway.

    Under a distribution strategy the losses and the variables are the same on every
    worker, so every worker stops at the same step.

    Args:
        checkpoints: the run's `sagan_tf.checkpoints.CheckpointWriter`.
    """

    def __init__(self, checkpoints):
        super().__init__()
        self.checkpoints = checkpoints

    def on_train_batch_end(self, batch, logs=None):
        bad_logs = divergence.non_finite_logs(logs)
        bad_variables = self.checkpoints.non_finite_variables()
        if bad_logs or bad_variables:
            self.model.stop_training = True
            raise divergence.DivergenceError(self.checkpoints.divergence_message(
                divergence.describe(bad_logs, bad_variables)))

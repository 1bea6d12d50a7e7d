"""Divergence: a run whose losses or weights are no longer finite stops, and no
checkpoint is written from such a state, so that the last good one can be resumed
(with lower learning rates, say: `--g_lr` and `--d_lr` may change on resume)."""

import math

import numpy as np
import tensorflow as tf


class DivergenceError(FloatingPointError):
    """Training reached non-finite losses or weights; the message names the step, what
    was not finite and the last good checkpoint."""


def state_variables(model):
    """{name: variable} of the floating-point variables a checkpoint of `model` holds:
    G, D, the EMA generator and both optimizers' (moments, loss scale), each named
    `<network or optimizer>/<path>`."""
    owners = {"generator": model.generator.weights,
              "discriminator": model.discriminator.weights,
              "g_optimizer": model.g_optimizer.variables,
              "d_optimizer": model.d_optimizer.variables}
    if model.ema_generator is not None:
        owners["ema_generator"] = model.ema_generator.weights
    return {f"{owner}/{v.path}": v for owner, variables in owners.items()
            for v in variables if "float" in str(v.dtype)}


class FiniteCheck:
    """Which of a model's checkpointed variables hold NaN or inf, in one compiled call
    (a reduction per variable on the device, one small transfer per check)."""

    def __init__(self, model):
        self.variables = state_variables(model)
        self._flags = tf.function(lambda: tf.stack(
            [tf.reduce_all(tf.math.is_finite(tf.convert_to_tensor(v)))
             for v in self.variables.values()]))

    def non_finite(self):
        """The names of the variables that are not finite (empty: all finite)."""
        flags = self._flags().numpy()
        return [name for name, ok in zip(self.variables, flags) if not ok]


def non_finite_logs(logs, names=("d_loss", "g_loss")):
    """{name: value} of the losses in `fit`'s logs that are NaN or inf."""
    bad = {}
    for name in names:
        if name in (logs or {}):
            value = float(np.asarray(logs[name], np.float64).reshape(-1)[0])
            if not math.isfinite(value):
                bad[name] = value
    return bad


def message(step, what, last_step, last_path):
    """The one-line report of a divergence at `step`."""
    if last_path:
        good = (f"The last good checkpoint is {last_path} (step {last_step}): run "
                "sagan-train again with the same --model_dir to resume from it, with lower "
                "--g_lr/--d_lr for instance.")
    elif last_step:
        good = (f"The last good checkpoint is that of step {last_step} in the run's "
                "checkpoints/.")
    else:
        good = "No checkpoint was saved before it: the run would start again from step 0."
    return (f"Training diverged at step {step}: non-finite {what}. No checkpoint was "
            f"written from this state. {good}")


def describe(bad_logs, bad_variables, limit=3):
    """'d_loss=nan, generator/dense/kernel and 4 more variables' for `message`."""
    parts = [f"{name}={value}" for name, value in bad_logs.items()]
    if bad_variables:
        shown = ", ".join(bad_variables[:limit])
        more = len(bad_variables) - limit
        parts.append(shown + (f" and {more} more variable(s)" if more > 0 else ""))
    return "; ".join(parts)

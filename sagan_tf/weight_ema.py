"""The exponential moving average of G's weights that sampling and the export use.

shadow <- d_t * shadow + (1 - d_t) * w after each G step t (Yazici et al. 2019; BigGAN).
With warm-up (the default, a departure from BigGAN's constant decay, as TF's
`tf.train.ExponentialMovingAverage(num_updates=t)` does it) the t-th update after the
start uses d_t = min(decay, (1 + t) / (10 + t)), so that a short run's average is not
mostly its initial weights: at t = 2,000 d_t is 0.9955 whatever `decay` above it.
Before and at the start step the shadow is a copy (d_t = 0).
"""

import tensorflow as tf


def decay_at(step, decay, start_step=0, warmup=True):
    """d_t after G step `step` (1-based), t = step - start_step (0 for t <= 0)."""
    t = tf.cast(step, "float32") - float(start_step)
    d = tf.constant(float(decay), "float32")
    if warmup:
        d = tf.minimum(d, (1.0 + t) / (10.0 + t))
    return tf.where(t > 0.0, d, 0.0)


def update(shadow_model, model, decay):
    """shadow <- decay * shadow + (1 - decay) * w for each weight of `model`.

    Spectral-norm u vectors are copied: they are unit power-iteration estimates, not
    parameters, and an average of unit vectors is not one.
    """
    rest = 1.0 - decay  # once, not an op per weight in the train step's graph
    for shadow, w in zip(shadow_model.weights, model.weights):
        if w.path.endswith("sn_u"):
            shadow.assign(w)
        else:
            shadow.assign(decay * shadow + rest * w)

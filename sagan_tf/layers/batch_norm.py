"""Batch normalization as one scale-and-shift pass."""

import numbers

import keras
from keras import ops

from sagan_tf.layers.column_sums import column_sums


@keras.saving.register_keras_serializable(package="sagan_tf")
class BatchNorm(keras.layers.BatchNormalization):
    """Batch normalization over the last axis (Ioffe & Szegedy 2015), folded:

        y = gamma * (x - mu) / sqrt(var + eps) + beta = x * a + b,
        a = gamma / sqrt(var + eps),  b = beta - mu * a

    Keras' `BatchNormalization` (same variables, moving averages, `synchronized`, config)
    with a faster `call()` on TF: Keras 3 has no fused kernel there and upcasts x to
    float32, normalizes, then downcasts. Here mu and var are float32 batch moments
    (two passes over a float32 copy, the sums as matmuls; `ops.moments` when
    `synchronized`) or the moving averages, a and b are float32 [C],
    and x is touched once more by a multiply-add in its own dtype. `fused=False` runs
    Keras' own path (the reference in the tests). Used as G's last batch norm and
    inside `ConditionalBatchNorm`, which folds its per-class gain and bias the same way
    through `scale_and_shift()`.

    While training (not `synchronized`), the backward pass is the closed form of batch
    norm's gradient (Ioffe & Szegedy 2015, section 3), with g = dL/dy * gamma:

        dL/dx = r * (g - mean(g) - x_hat * mean(g * x_hat)),  r = 1 / sqrt(var + eps)
        dL/dgamma = sum(dL/dy * x_hat),  dL/dbeta = sum(dL/dy)

    written as dL/dx = a * dL/dy + k1 * (x - mu) + k0 with per-channel k1, k0: two
    sums and four elementwise passes in x's dtype, instead of autodiff's chain back
    through the fold, the float32 copy and both moments. The sums accumulate in
    float32 (matmuls with a ones row) and are taken around mu, so a large mean does
    not cancel digits away. Same gradient as autodiff of the forward, checked in the
    tests against Keras' layer, the plain path and finite differences in NumPy.

    Args:
        fused: one scale-and-shift pass (above) instead of Keras' call.
        **kwargs: `keras.layers.BatchNormalization`'s arguments; `axis` must be -1,
            `renorm` is not supported, `momentum` must be in [0, 1) (1 would freeze
            the moving averages at their initial values) and `epsilon` >= 0 (a
            negative one can make var + eps negative: NaN outputs).
    """

    def __init__(self, fused=True, **kwargs):
        if kwargs.get("axis", -1) != -1 or kwargs.get("renorm", False):
            raise ValueError(
                "`BatchNorm` normalizes the last axis, without renorm. Received: "
                f"axis={kwargs.get('axis', -1)}, renorm={kwargs.get('renorm', False)}")
        check_momentum_and_epsilon(kwargs.get("momentum", 0.99), kwargs.get("epsilon", 1e-3))
        super().__init__(**kwargs)
        self.fused = bool(fused)

    def moments(self, x, training):
        """float32 (mu, var) [C]: the batch's (updating the moving averages) when
        training, else the moving averages."""
        if training and self.trainable:
            if self.synchronized:
                axes = list(range(len(x.shape) - 1))
                mu, var = ops.moments(ops.cast(x, "float32"), axes=axes, synchronized=True)
            else:
                mu, var = _moments_by_matmul(x)
            self._update_moving_averages(mu, var)
            return mu, var
        return (ops.cast(self.moving_mean, "float32"),
                ops.cast(self.moving_variance, "float32"))

    def _update_moving_averages(self, mu, var):
        self.moving_mean.assign(self.moving_mean * self.momentum + mu * (1 - self.momentum))
        self.moving_variance.assign(
            self.moving_variance * self.momentum + var * (1 - self.momentum))

    def call(self, inputs, training=None, mask=None):
        if not self.fused or mask is not None:
            return super().call(inputs, training=training, mask=mask)
        return self.scale_and_shift(inputs, training, self.gamma if self.scale else None,
                                    self.beta if self.center else None)

    def scale_and_shift(self, x, training, gamma=None, beta=None):
        """The folded normalization x * a + b, with a = gamma / sqrt(var + eps) and
        b = beta - mu * a computed in float32 (no gain or bias when None).

        `gamma` and `beta` are [C], or [N, C] for a gain and bias per example (as
        `ConditionalBatchNorm` passes them).
        """
        c = x.shape[-1]
        gamma = ops.ones((c,), "float32") if gamma is None else ops.cast(gamma, "float32")
        beta = ops.zeros((c,), "float32") if beta is None else ops.cast(beta, "float32")
        if training and self.trainable and not self.synchronized:
            mu, var = self.moments(ops.stop_gradient(x), training)
            return _normalize(x, mu, ops.rsqrt(var + self.epsilon), gamma, beta)
        mu, var = self.moments(x, training)
        return _fold(x, mu, ops.rsqrt(var + self.epsilon), gamma, beta)

    def get_config(self):
        return {**super().get_config(), "fused": self.fused}


@ops.custom_gradient
def _normalize(x, mu, r, gamma, beta):
    """Training-mode batch norm y = x * a + b (a = gamma * r, b = beta - mu * a) of x
    [N, ..., C] from its float32 batch moments mu and r = 1 / sqrt(var + eps) [C],
    with the closed-form gradient (see `BatchNorm`). gamma and beta are float32 [C]
    or [N, C]. mu and r must come from `stop_gradient(x)`: their part of the gradient
    is in dL/dx, and none is returned for them.
    """

    def grad(*args, upstream=None):
        with keras.name_scope("batch_norm_grad"):  # names the ops for profiles
            return _normalize_grad(x, mu, r, gamma, beta,
                                   args[0] if upstream is None else upstream)

    return _fold(x, mu, r, gamma, beta), grad


def _fold(x, mu, r, gamma, beta):
    """x * a + b in x's dtype, with a = gamma * r and b = beta - mu * a in float32."""
    a = gamma * r
    return x * per_example(ops.cast(a, x.dtype), x) + per_example(
        ops.cast(beta - mu * a, x.dtype), x)


def _normalize_grad(x, mu, r, gamma, beta, dy):
    """(dL/dx, None, None, dL/dgamma, dL/dbeta) of `_normalize`, given dL/dy."""
    per_ex = len(gamma.shape) == 2 or len(beta.shape) == 2
    mu_x = ops.cast(mu, x.dtype)
    shift = ops.cast(mu_x, "float32") - mu  # x - mu = (x - mu_x) + shift
    x_c = x - mu_x
    s1 = ops.cast(column_sums(dy, per_ex), "float32")  # sum dL/dy
    s2 = ops.cast(column_sums(dy * x_c, per_ex), "float32") + shift * s1  # sum dL/dy (x - mu)
    g = ops.reshape(gamma, (-1, gamma.shape[-1]))
    rows = ops.cast(ops.size(x) // x.shape[-1], "float32")
    d_beta = s1
    d_gamma = r * s2  # sum dL/dy * x_hat
    mean_g = ops.sum(g * s1, axis=0) / rows  # mean(g)
    mean_g_x_hat = ops.sum(g * d_gamma, axis=0) / rows  # mean(g * x_hat)
    k1 = -r * r * mean_g_x_hat
    k0 = -r * mean_g + k1 * shift
    dx = (dy * per_example(ops.cast(gamma * r, x.dtype), x) + x_c * ops.cast(k1, x.dtype)
          + ops.cast(k0, x.dtype))
    if per_ex and len(gamma.shape) < 2:
        d_gamma = ops.sum(d_gamma, axis=0)
    if per_ex and len(beta.shape) < 2:
        d_beta = ops.sum(d_beta, axis=0)
    return dx, None, None, d_gamma, d_beta


def _moments_by_matmul(x):
    """float32 mean and (biased, centred two-pass) variance over all axes but the last,
    the sums over the N*H*W rows as `column_sums` matmuls of a float32 copy."""
    x32 = ops.reshape(ops.cast(x, "float32"), (-1, x.shape[-1]))
    n = ops.cast(ops.shape(x32)[0], "float32")
    mu = column_sums(x32) / n
    return mu, column_sums(ops.square(x32 - mu)) / n


def check_momentum_and_epsilon(momentum, epsilon, names=("momentum", "epsilon")):
    """Raises unless `momentum` is a number in [0, 1) and `epsilon` a finite number
    >= 0 (bools, strings and NaN are refused); `names` are the arguments' names for
    the message."""
    m, e = names
    if not _is_real(momentum) or not 0.0 <= momentum < 1.0:
        raise ValueError(f"`{m}` must be a number in [0, 1). Received: {m}={momentum}")
    if not _is_real(epsilon) or not 0.0 <= epsilon < float("inf"):
        raise ValueError(f"`{e}` must be a finite number >= 0. Received: {e}={epsilon}")


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def per_example(t, x):
    """[N, C] -> [N, 1, ..., 1, C], to broadcast over x's spatial axes ([C] unchanged)."""
    if len(t.shape) < 2:
        return t
    return ops.reshape(t, (-1,) + (1,) * (len(x.shape) - 2) + (t.shape[-1],))

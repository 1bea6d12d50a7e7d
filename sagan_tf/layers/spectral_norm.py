"""The spectral normalization shared by the SN layers (Miyato et al. 2018).

W_SN = W / sigma(W), with sigma(W) estimated by power iteration on a persistent
vector u:

    v = normalize(u W^T),  u' = normalize(v W),  sigma = v W u'^T

where W is the kernel reshaped to a matrix [fan_in, units] (for an embedding:
[input_dim, output_dim]), u has shape [1, units] as in the SAGAN authors' code.
The gradient flows through W / sigma with u and v held constant (the SN paper's
reparametrization). Power iteration runs in float32 whatever the layer's dtype policy.
"""

from keras import ops

_EPS = 1e-12


def _l2_normalize(x):
    return x / ops.sqrt(ops.maximum(ops.sum(ops.square(x)), _EPS))


def spectral_normalize(kernel, u, power_iterations, training):
    """Returns `(w_sn, sigma, new_u)` for a kernel of any rank.

    Args:
        kernel: float32 tensor; its last axis is the output axis.
        u: float32 tensor [1, units], the persistent estimate of the first left
            singular vector of W^T (a right singular vector of W).
        power_iterations: how many iterations to run when `training`.
        training: when false, no iteration runs: sigma is computed from the stored
            `u` (v = normalize(u W^T), sigma = v W u^T) and `new_u` is `u`.
    """
    units = ops.shape(kernel)[-1]
    w = ops.reshape(kernel, (-1, units))
    w_t = ops.transpose(w)
    u_hat = u
    # Each op once: a train step's graph holds this for every SN layer and call, and its
    # size is what tracing and Grappler cost (a v computed before the loop, then
    # overwritten, would be dead ops in every training call).
    iterations = power_iterations if training else 0
    for _ in range(iterations):
        v_hat = _l2_normalize(ops.matmul(u_hat, w_t))
        u_hat = _l2_normalize(ops.matmul(v_hat, w))
    if not iterations:
        v_hat = _l2_normalize(ops.matmul(u_hat, w_t))
    u_hat = ops.stop_gradient(u_hat)
    v_hat = ops.stop_gradient(v_hat)
    sigma = ops.sum(ops.matmul(v_hat, w) * u_hat)
    return kernel / sigma, sigma, u_hat


def validate_power_iterations(power_iterations):
    if not isinstance(power_iterations, int) or power_iterations < 1:
        raise ValueError(
            "`power_iterations` must be a positive integer. "
            f"Received: power_iterations={power_iterations}")


class SpectralNormMixin:
    """Adds the persistent `u` vector and the normalized kernel to a layer.

    The raw `kernel` variable is never overwritten: `call()` uses `W / sigma(W)`
    computed on the fly, and only `u` (not trainable) is updated, once per training
    call. The kernel is created with `autocast=False` so that power iteration always
    runs in float32; the normalized kernel is cast to the layer's compute dtype.
    """

    def _build_u(self, units):
        self.u = self.add_weight(
            name="sn_u", shape=(1, units), initializer="random_normal",
            trainable=False, autocast=False, aggregation="mean")

    def normalized_kernel(self, training=False, dtype=None):
        """Returns W_SN = W / sigma(W) in `dtype` (default: the compute dtype); updates
        `u` if training."""
        w_sn, _, u_new = spectral_normalize(
            self.kernel.value, self.u.value, self.power_iterations, bool(training))
        if training:
            self.u.assign(u_new)
        return ops.cast(w_sn, dtype or self.compute_dtype)

    def sigma(self):
        """Returns sigma(W) estimated from the stored `u`, without changing it."""
        return spectral_normalize(self.kernel.value, self.u.value, 1, False)[1]

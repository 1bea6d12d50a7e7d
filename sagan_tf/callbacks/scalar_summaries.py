"""Writes the losses, D's outputs, the gradient norms, the spectral norms and the gamma
of every attention layer to TensorBoard."""

import keras

from sagan_tf.layers import SelfAttention
from sagan_tf.layers.spectral_norm import spectral_normalize
from sagan_tf import summaries

#: The tag of each per-step log entry of `SAGAN.train_step`.
LOG_TAGS = {"d_loss": "losses/d_loss", "g_loss": "losses/g_loss",
            "d_real": "losses/d_real", "d_fake": "losses/d_fake",
            "d_grad_norm": "gradient_norm/discriminator",
            "g_grad_norm": "gradient_norm/generator"}


def attention_layers(network):
    """The SelfAttention layers of a functional network, in order."""
    return [layer for layer in network.layers if isinstance(layer, SelfAttention)]


def spectral_norms(network):
    """{weight path: sigma} of every spectrally normalized weight of `network`: the
    largest singular value of the raw kernel W (before W / sigma), as the power
    iteration's stored u estimates it (v = normalize(u W^T), sigma = v W u^T), without
    advancing it."""
    weights = {w.path: w for w in network.weights}
    sigmas = {}
    for path, u in weights.items():
        if not path.endswith("/sn_u"):
            continue
        prefix = path[:-len("sn_u")]
        kernel = weights.get(prefix + "kernel", weights.get(prefix + "embeddings"))
        if kernel is not None:
            sigmas[kernel.path] = float(spectral_normalize(kernel.value, u.value, 1, False)[1])
    return sigmas


class ScalarSummaries(keras.callbacks.Callback):
    """Every `every` steps, the step's own values (with `PerStepMetrics`):

    - `losses/d_loss`, `losses/g_loss`: L_D and L_G;
    - `losses/d_real`, `losses/d_fake`: D's mean output (logit) on the real and on the
      generated images of the (last) D update;
    - `gradient_norm/discriminator`, `gradient_norm/generator`: the L2 norm of the
      gradient each update applied (the mean over the step's D updates; unscaled under
      loss scaling; see `SAGAN._apply` under several replicas);
    - `sigma/<network>/<weight>`: the largest singular value of every spectrally
      normalized weight of G and D before normalization (see `spectral_norms`);
    - `gamma/<network>/<layer>`: the gamma of each attention layer of G and D.

    Other log entries are written as `losses/<name>`.

    Args:
        writer: a `tf.summary` writer (the chief's; other workers pass none of these
            callbacks).
        every: write after steps divisible by this.
    """

    def __init__(self, writer, every):
        super().__init__()
        self.writer = writer
        self.every = int(every)

    def on_train_batch_end(self, batch, logs=None):
        step = int(self.model.g_optimizer.iterations.numpy())
        if step % self.every:
            return
        with self.writer.as_default(step=step):
            for name, value in sorted((logs or {}).items()):
                summaries.scalar(LOG_TAGS.get(name, f"losses/{name}"), value)
            for network in (self.model.generator, self.model.discriminator):
                for path, sigma in sorted(spectral_norms(network).items()):
                    summaries.scalar(f"sigma/{network.name}/{path}", sigma)
                for layer in attention_layers(network):
                    summaries.scalar(f"gamma/{network.name}/{layer.name}", layer.gamma)
        self.writer.flush()

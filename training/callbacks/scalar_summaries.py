"""Writes the losses and the gamma of every attention layer to TensorBoard."""

import keras

from sagan_tf.layers import SelfAttention
from training import summaries


def attention_layers(network):
    """The SelfAttention layers of a functional network, in order."""
    return [layer for layer in network.layers if isinstance(layer, SelfAttention)]


class ScalarSummaries(keras.callbacks.Callback):
    """Every `every` steps: `losses/<name>` for each log entry (d_loss, g_loss, d_real,
    d_fake) and `gamma/<network>/<layer>` for each attention layer of G and D.

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
                summaries.scalar(f"losses/{name}", value)
            for network in (self.model.generator, self.model.discriminator):
                for layer in attention_layers(network):
                    summaries.scalar(f"gamma/{network.name}/{layer.name}", layer.gamma)
        self.writer.flush()

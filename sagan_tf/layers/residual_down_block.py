"""The discriminator's residual down-sampling block."""

import keras
from keras import ops

from sagan_tf.layers.pooled_conv import pooled_conv3x3
from sagan_tf.layers.spectral_conv2d import SpectralConv2D

POOLED_CONVS = ("strided", "plain")


@keras.saving.register_keras_serializable(package="sagan_tf")
class ResidualDownBlock(keras.layers.Layer):
    """Discriminator residual block (Miyato & Koyama 2018; SAGAN authors' code).

    Ordinary block (pre-activation):
        h = SNconv3x3(ReLU(SNconv3x3(ReLU(x)))),  then avgpool 2x2 if `downsample`
        y = h + shortcut(x),  shortcut = [SNconv1x1 then avgpool] when the channels
        change or the block downsamples, else the identity.
    Optimized first block (`optimized=True`, the image goes in without activation):
        h = avgpool(SNconv3x3(ReLU(SNconv3x3(x))))
        y = h + SNconv1x1(avgpool(x))

    The ordinary block's shortcut runs as SNconv1x1(avgpool(x)): both are linear and
    act per pixel and per channel respectively, so they commute (the bias too); same
    result as the authors' order, a quarter of the multiply-adds.

    When the block downsamples, avgpool(SNconv3x3(h)) (the second conv and the pool)
    runs by default as one 4x4 conv with stride 2 (`pooled_conv3x3`), whose kernel is
    W_SN = W / sigma(W) averaged over the four 2x2 shifts: the same function as the
    paper's, zero padding and bias included, computed only at the pooled positions
    (16 instead of 36 multiply-adds per pooled pixel). sigma is still that of the raw
    3x3 kernel, and the weights are the same, so a checkpoint of either path runs in
    the other.

    Args:
        filters: output channels.
        downsample: halve the resolution with 2x2 average pooling.
        optimized: the first block of D, conv before activation.
        power_iterations: spectral-norm power iterations per training call.
        pooled_conv: "strided" (the 4x4 stride-2 form above) or "plain" (the 3x3 conv,
            then the pool, as the paper writes it). Only used with `downsample`.
    """

    def __init__(self, filters, downsample=True, optimized=False, power_iterations=1,
                 pooled_conv="strided", **kwargs):
        super().__init__(**kwargs)
        if pooled_conv not in POOLED_CONVS:
            raise ValueError(f"`pooled_conv` must be one of {POOLED_CONVS}. "
                             f"Received: pooled_conv={pooled_conv!r}")
        self.pooled_conv = pooled_conv
        self.filters = filters
        self.downsample = bool(downsample)
        self.optimized = bool(optimized)
        self.power_iterations = power_iterations
        conv = dict(power_iterations=power_iterations, dtype=self.dtype_policy)
        self.conv_1 = SpectralConv2D(filters, 3, name="conv_1", **conv)
        self.conv_2 = SpectralConv2D(filters, 3, name="conv_2", **conv)
        self._conv_kwargs = conv
        self.conv_shortcut = None

    def build(self, input_shape):
        channels = input_shape[-1]
        self.conv_1.build(input_shape)
        self.conv_2.build(tuple(input_shape[:-1]) + (self.filters,))
        if self.optimized or self.downsample or channels != self.filters:
            self.conv_shortcut = SpectralConv2D(self.filters, 1, name="conv_shortcut",
                                                **self._conv_kwargs)
            self.conv_shortcut.build(input_shape)

    def _down(self, x):
        if not self.downsample:
            return x
        return ops.average_pool(x, pool_size=2, strides=2, padding="valid")

    def _down_conv_2(self, h, training):
        """avgpool(SNconv3x3_2(h)) (or SNconv3x3_2(h) without downsampling), in the
        strided form when chosen."""
        if not (self.downsample and self.pooled_conv == "strided"):
            return self._down(self.conv_2(h, training=training))
        # The 4x4 kernel combined in float32, rounded once to h's dtype.
        w_sn = self.conv_2.normalized_kernel(training, dtype="float32")
        return self.conv_2.add_bias(pooled_conv3x3(h, w_sn))

    def call(self, x, training=None):
        if self.optimized:
            h = self.conv_1(x, training=training)
            h = self._down_conv_2(ops.relu(h), training)
            return h + self.conv_shortcut(self._down(x), training=training)
        h = self.conv_1(ops.relu(x), training=training)
        h = self._down_conv_2(ops.relu(h), training)
        shortcut = self._down(x)
        if self.conv_shortcut is not None:
            shortcut = self.conv_shortcut(shortcut, training=training)
        return h + shortcut

    def compute_output_shape(self, input_shape):
        b, height, width, _ = input_shape
        if self.downsample:
            height = None if height is None else height // 2
            width = None if width is None else width // 2
        return (b, height, width, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "downsample": self.downsample, "optimized": self.optimized,
                "power_iterations": self.power_iterations, "pooled_conv": self.pooled_conv}

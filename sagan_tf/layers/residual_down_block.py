"""The discriminator's residual down-sampling block."""

import keras
from keras import ops

from sagan_tf.layers.spectral_conv2d import SpectralConv2D


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

    Args:
        filters: output channels.
        downsample: halve the resolution with 2x2 average pooling.
        optimized: the first block of D, conv before activation.
        power_iterations: spectral-norm power iterations per training call.
    """

    def __init__(self, filters, downsample=True, optimized=False, power_iterations=1,
                 **kwargs):
        super().__init__(**kwargs)
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

    def call(self, x, training=None):
        if self.optimized:
            h = self.conv_1(x, training=training)
            h = self.conv_2(ops.relu(h), training=training)
            return self._down(h) + self.conv_shortcut(self._down(x), training=training)
        h = self.conv_1(ops.relu(x), training=training)
        h = self.conv_2(ops.relu(h), training=training)
        shortcut = self._down(x)
        if self.conv_shortcut is not None:
            shortcut = self.conv_shortcut(shortcut, training=training)
        return self._down(h) + shortcut

    def compute_output_shape(self, input_shape):
        b, height, width, _ = input_shape
        if self.downsample:
            height = None if height is None else height // 2
            width = None if width is None else width // 2
        return (b, height, width, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "downsample": self.downsample, "optimized": self.optimized,
                "power_iterations": self.power_iterations}

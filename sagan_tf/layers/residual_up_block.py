"""The generator's residual up-sampling block."""

import keras
from keras import ops

from sagan_tf.layers.batch_norm import BatchNorm
from sagan_tf.layers.conditional_batch_norm import ConditionalBatchNorm
from sagan_tf.layers.spectral_conv2d import SpectralConv2D
from sagan_tf.layers.subpixel_conv import upsample_conv3x3

UPSAMPLE_CONVS = ("subpixel", "plain")


@ops.custom_gradient
def upsample_nearest_2x(x):
    """Nearest-neighbour 2x upsampling of NHWC `x`, with a fast exact gradient.

    The gradient of nearest upsampling sums each 2x2 block of the upstream gradient.
    Autodiff of `ops.repeat` does that with a reshape and a sum over two inner axes,
    which TF's CPU kernels run 10-15x slower than 4 x a 2x2 average pool (measured
    here on a [64, 32, 32, 256] gradient: 34-45 ms against 2.4-4.2 ms), and it was
    the largest non-convolution cost in G's backward pass. The forward is a nearest
    resize, which TF runs as one op (1.5 against 2.1 ms for two `ops.repeat` on a
    [64, 16, 16, 256] bfloat16 input); same values.
    """
    y = ops.image.resize(x, (2 * x.shape[1], 2 * x.shape[2]), interpolation="nearest",
                         data_format="channels_last")

    def grad(*args, upstream=None):
        if upstream is None:
            (upstream,) = args
        with keras.name_scope("upsample_grad"):  # names the ops for profiles
            return ops.average_pool(upstream, pool_size=2, strides=2, padding="valid") * 4

    return y, grad


@keras.saving.register_keras_serializable(package="sagan_tf")
class ResidualUpBlock(keras.layers.Layer):
    """Generator residual block (Miyato & Koyama 2018; SAGAN authors' `block`).

        h = CBN_1(x, c) -> ReLU -> upsample 2x (nearest) -> SNconv3x3
        h = CBN_2(h, c) -> ReLU -> SNconv3x3
        y = h + SNconv1x1(upsample(x))

    Called as `block([x, labels])`; with `num_classes=None` (an unconditional
    generator) the batch norms are plain `BatchNorm`s with one learned gain and bias
    per channel, BN_i(x) instead of CBN_i(x, c), and the block is called as `block(x)`.
    The shortcut is always a 1x1 SN conv, as in the
    authors' code. It runs as upsample(SNconv1x1(x)): a 1x1 conv acts on each pixel
    alone, so it commutes with nearest upsampling; same result, a quarter of the
    multiply-adds and of the memory the shortcut touches.

    The first conv, SNconv3x3(upsample(h)), runs by default in the sub-pixel form
    (`upsample_conv3x3`): four 2x2 convs at the input resolution, whose kernels are
    sums of taps of W_SN = W / sigma(W), interleaved into the upsampled output. That
    is the same function as the paper's, zero padding and bias included (4 instead of
    9 multiply-adds per output pixel); sigma is still that of the raw 3x3 kernel, and
    the weights are the same, so a checkpoint of either path runs in the other.

    Args:
        filters: output channels.
        num_classes: classes of the conditional batch norms; None for plain batch
            norms (unconditional).
        upsample: double the resolution (False keeps it).
        power_iterations: spectral-norm power iterations per training call.
        bn_momentum, bn_epsilon, synchronized_bn, fused_bn: passed to
            `ConditionalBatchNorm` or `BatchNorm` (as momentum, epsilon, synchronized,
            fused).
        upsample_conv: "subpixel" (the sub-pixel form above) or "plain" (upsample,
            then the 3x3 conv, as the paper writes it). Only used with `upsample`.
        class_affine: `ConditionalBatchNorm`'s class gains and biases: "table" (the
            paper's) or "sn_linear" (BigGAN's and StudioGAN's). Only used with classes.
    """

    def __init__(self, filters, num_classes, upsample=True, power_iterations=1,
                 bn_momentum=0.9, bn_epsilon=1e-5, synchronized_bn=False, fused_bn=True,
                 upsample_conv="subpixel", class_affine="table", **kwargs):
        super().__init__(**kwargs)
        if upsample_conv not in UPSAMPLE_CONVS:
            raise ValueError(f"`upsample_conv` must be one of {UPSAMPLE_CONVS}. "
                             f"Received: upsample_conv={upsample_conv!r}")
        self.upsample_conv = upsample_conv
        self.filters = filters
        self.num_classes = num_classes
        self.upsample = bool(upsample)
        self.power_iterations = power_iterations
        self.bn_momentum = bn_momentum
        self.bn_epsilon = bn_epsilon
        self.synchronized_bn = bool(synchronized_bn)
        self.fused_bn = bool(fused_bn)
        self.class_affine = class_affine
        policy = self.dtype_policy
        bn = dict(momentum=bn_momentum, epsilon=bn_epsilon, synchronized=synchronized_bn,
                  fused=fused_bn, dtype=policy)
        if num_classes is None:  # own attribute names: checkpoints tell the kinds apart
            self.bn_1 = BatchNorm(name="bn_1", **bn)
            self.bn_2 = BatchNorm(name="bn_2", **bn)
        else:
            cbn = dict(bn, class_affine=class_affine, power_iterations=power_iterations)
            self.cbn_1 = ConditionalBatchNorm(num_classes, name="cbn_1", **cbn)
            self.cbn_2 = ConditionalBatchNorm(num_classes, name="cbn_2", **cbn)
        conv = dict(power_iterations=power_iterations, dtype=policy)
        self.conv_1 = SpectralConv2D(filters, 3, name="conv_1", **conv)
        self.conv_2 = SpectralConv2D(filters, 3, name="conv_2", **conv)
        self.conv_shortcut = SpectralConv2D(filters, 1, name="conv_shortcut", **conv)

    def build(self, input_shape):
        x_shape, labels_shape = self._split(input_shape)
        b, height, width, channels = x_shape
        scale = 2 if self.upsample else 1
        up_shape = (b, None if height is None else height * scale,
                    None if width is None else width * scale)
        self._build_norm(1, x_shape, labels_shape)
        self.conv_1.build(up_shape + (channels,))
        self._build_norm(2, up_shape + (self.filters,), labels_shape)
        self.conv_2.build(up_shape + (self.filters,))
        self.conv_shortcut.build(x_shape)

    def _split(self, inputs):
        """`(x, labels)` of `[x, labels]` (conditional) or `x` (labels None)."""
        if self.num_classes is None:
            if isinstance(inputs, (list, tuple)) and len(inputs) == 2:
                raise ValueError("An unconditional `ResidualUpBlock` (num_classes=None) "
                                 "is called as `block(x)`, without labels.")
            return inputs, None
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("A class-conditional `ResidualUpBlock` is called as "
                             f"`block([x, labels])`. Received: inputs={inputs}")
        return inputs

    def _build_norm(self, i, x_shape, labels_shape):
        if self.num_classes is None:
            getattr(self, f"bn_{i}").build(x_shape)
        else:
            getattr(self, f"cbn_{i}").build([x_shape, labels_shape])

    def _norm(self, i, x, c, training):
        """BN_i(x) (unconditional) or CBN_i(x, c)."""
        if self.num_classes is None:
            return getattr(self, f"bn_{i}")(x, training=training)
        return getattr(self, f"cbn_{i}")([x, c], training=training)

    def _up(self, x):
        return upsample_nearest_2x(x) if self.upsample else x

    def call(self, inputs, training=None):
        x, c = self._split(inputs)
        h = ops.relu(self._norm(1, x, c, training))
        h = self._conv_1_up(h, training)
        h = ops.relu(self._norm(2, h, c, training))
        h = self.conv_2(h, training=training)
        return h + self._up(self.conv_shortcut(x, training=training))

    def _conv_1_up(self, h, training):
        """SNconv3x3(upsample(h)), in the sub-pixel form when chosen."""
        if not (self.upsample and self.upsample_conv == "subpixel"):
            return self.conv_1(self._up(h), training=training)
        # Phase kernels combined in float32, rounded once to h's dtype.
        w_sn = self.conv_1.normalized_kernel(training, dtype="float32")
        return self.conv_1.add_bias(upsample_conv3x3(h, w_sn))

    def compute_output_shape(self, input_shape):
        b, height, width, _ = self._split(input_shape)[0]
        scale = 2 if self.upsample else 1
        return (b, None if height is None else height * scale,
                None if width is None else width * scale, self.filters)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "num_classes": self.num_classes, "upsample": self.upsample,
                "power_iterations": self.power_iterations, "bn_momentum": self.bn_momentum,
                "bn_epsilon": self.bn_epsilon, "synchronized_bn": self.synchronized_bn,
                "fused_bn": self.fused_bn, "upsample_conv": self.upsample_conv,
                "class_affine": self.class_affine}

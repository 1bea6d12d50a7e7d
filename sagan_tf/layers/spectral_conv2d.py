"""A spectrally normalized 2D convolution."""

import keras
from keras import ops

from sagan_tf.layers.column_sums import column_sums
from sagan_tf.layers.spectral_norm import SpectralNormMixin, validate_power_iterations


@keras.saving.register_keras_serializable(package="sagan_tf")
class SpectralConv2D(SpectralNormMixin, keras.layers.Layer):
    """2D convolution (NHWC) with a spectrally normalized kernel (Miyato et al. 2018).

    y = conv(x, W_SN) + b,  W_SN = W / sigma(W),  with W the kernel
    [kh, kw, C_in, filters] viewed as a [kh * kw * C_in, filters] matrix, sigma(W) its
    largest singular value estimated by `power_iterations` power iterations per
    training call on a persistent, non-trainable u. The gradient flows through
    W / sigma with u and v held constant; inference uses the stored u and changes
    nothing. The raw kernel is never overwritten.

    Args:
        filters: output channels.
        kernel_size: int or (kh, kw).
        strides: int or (sh, sw).
        padding: "same" or "valid".
        use_bias: whether to add a bias (not normalized).
        power_iterations: power iterations per training call (the paper uses 1).
        kernel_initializer, bias_initializer: as in `keras.layers.Conv2D`.
    """

    def __init__(self, filters, kernel_size, strides=1, padding="same", use_bias=True,
                 power_iterations=1, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(filters, int) or filters < 1:
            raise ValueError(
                f"`filters` must be a positive integer. Received: filters={filters}")
        if padding not in ("same", "valid"):
            raise ValueError(
                f"`padding` must be 'same' or 'valid'. Received: padding={padding}")
        validate_power_iterations(power_iterations)
        self.filters = filters
        self.kernel_size = _pair(kernel_size, "kernel_size")
        self.strides = _pair(strides, "strides")
        self.padding = padding
        self.use_bias = use_bias
        self.power_iterations = power_iterations
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=self.kernel_size + (input_shape[-1], self.filters),
            initializer=self.kernel_initializer, autocast=False)
        self._build_u(self.filters)
        self.bias = (self.add_weight(name="bias", shape=(self.filters,),
                                     initializer=self.bias_initializer)
                     if self.use_bias else None)

    def call(self, x, training=None):
        w_sn = self.normalized_kernel(training)
        if self.kernel_size == (1, 1) and self.strides == (1, 1):
            # A 1x1 conv is a matmul over channels: as fast, and correct for an empty
            # batch (TF's CPU conv returns a wrong shape for N = 0).
            y = ops.matmul(x, ops.reshape(w_sn, ops.shape(w_sn)[2:]))
        else:
            y = ops.conv(x, w_sn, strides=self.strides, padding=self.padding)
        return self.add_bias(y)

    def add_bias(self, y):
        """y + b (b cast to y's dtype; y itself without a bias), with the fast bias
        gradient. Also for callers that convolve with a transform of
        `normalized_kernel()` (the residual blocks' sub-pixel and pooled forms)."""
        if not self.use_bias:
            return y
        return _add_bias(y, ops.cast(self.bias, y.dtype))

    def compute_output_shape(self, input_shape):
        return keras.layers.Conv2D(
            self.filters, self.kernel_size, self.strides, self.padding
        ).compute_output_shape(input_shape)

    def get_config(self):
        return {**super().get_config(), "filters": self.filters,
                "kernel_size": self.kernel_size, "strides": self.strides,
                "padding": self.padding, "use_bias": self.use_bias,
                "power_iterations": self.power_iterations,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}


@ops.custom_gradient
def _add_bias(y, b):
    """y + b over the last axis; the gradient for b, the sum of dL/dy over every other
    axis, runs as `column_sums` (a ones-row matmul: 2.6 against 5.9 ms for autodiff's
    reduction on a bfloat16 [64, 32, 32, 256] gradient). The forward add is unchanged
    (Grappler still fuses it into the conv).
    """

    def grad(*args, upstream=None):
        dy = args[0] if upstream is None else upstream
        with keras.name_scope("bias_grad"):  # names the ops for profiles
            return dy, column_sums(dy)

    return y + b, grad


def _pair(value, name):
    if isinstance(value, int):
        value = (value, value)
    value = tuple(value)
    if len(value) != 2 or not all(isinstance(v, int) and v > 0 for v in value):
        raise ValueError(f"`{name}` must be a positive int or a pair of them. "
                         f"Received: {name}={value}")
    return value

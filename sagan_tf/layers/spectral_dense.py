"""A spectrally normalized dense layer."""

import keras
from keras import ops

from sagan_tf.layers.spectral_norm import SpectralNormMixin, validate_power_iterations


@keras.saving.register_keras_serializable(package="sagan_tf")
class SpectralDense(SpectralNormMixin, keras.layers.Layer):
    """Dense layer with a spectrally normalized kernel (Miyato et al. 2018).

    y = x W_SN + b,  W_SN = W / sigma(W),  sigma(W) the largest singular value of W,
    estimated by `power_iterations` power iterations per training call on a persistent,
    non-trainable vector u. The gradient flows through W / sigma with u and v held
    constant. Inference (`training=False`) uses the stored u and changes nothing.

    Args:
        units: output size.
        use_bias: whether to add a bias (not normalized).
        power_iterations: power iterations per training call (the paper uses 1).
        kernel_initializer, bias_initializer: as in `keras.layers.Dense`.
    """

    def __init__(self, units, use_bias=True, power_iterations=1,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", **kwargs):
        super().__init__(**kwargs)
        if not isinstance(units, int) or units < 1:
            raise ValueError(f"`units` must be a positive integer. Received: units={units}")
        validate_power_iterations(power_iterations)
        self.units = units
        self.use_bias = use_bias
        self.power_iterations = power_iterations
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.bias_initializer = keras.initializers.get(bias_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="kernel", shape=(input_shape[-1], self.units),
            initializer=self.kernel_initializer, autocast=False)
        self._build_u(self.units)
        self.bias = (self.add_weight(name="bias", shape=(self.units,),
                                     initializer=self.bias_initializer)
                     if self.use_bias else None)

    def call(self, x, training=None):
        w_sn = self.normalized_kernel(training)
        y = ops.matmul(x, w_sn)
        if self.use_bias:
            y = y + self.bias
        return y

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        return {**super().get_config(), "units": self.units, "use_bias": self.use_bias,
                "power_iterations": self.power_iterations,
                "kernel_initializer": keras.initializers.serialize(self.kernel_initializer),
                "bias_initializer": keras.initializers.serialize(self.bias_initializer)}

"""Class-conditional batch normalization for the generator."""

import keras
from keras import ops

from sagan_tf.layers.batch_norm import BatchNorm, per_example
from sagan_tf.layers.label_checks import (check_labels_shape, check_num_classes,
                                          class_ids)
from sagan_tf.layers.spectral_embedding import SpectralEmbedding

#: How gamma[c] and beta[c] are parametrized (`class_affine`).
CLASS_AFFINES = ("table", "sn_linear")


@keras.saving.register_keras_serializable(package="sagan_tf")
class ConditionalBatchNorm(keras.layers.Layer):
    """Batch normalization with a per-class gain and bias (de Vries et al. 2017).

        y = gamma[c] * (x - mu) / sqrt(var + eps) + beta[c]

    mu and var are the batch statistics over (N, H, W) while training and the moving
    averages at inference, from a `BatchNorm` (Keras' BatchNormalization) without affine
    terms; gamma (init 1) and beta (init 0) are [num_classes, C] tables indexed by the
    label c. The tables are not spectrally normalized (SPEC: CBN's gains and biases
    are exempt). That is `class_affine="table"`, the paper's form.

    `class_affine="sn_linear"` is BigGAN's and StudioGAN's form (a departure from the
    paper's text): a spectrally normalized linear map of the one-hot class,

        gamma[c] = 1 + (W_gamma / sigma(W_gamma))[c],   beta[c] = (W_beta / sigma(W_beta))[c]

    with W_gamma, W_beta [num_classes, C] orthogonally initialised (`SpectralEmbedding`s:
    the lookup of row c is the linear map of the one-hot c). Each class starts at its
    own offset, and since ||W / sigma(W)||_2 = 1 no class's offsets can grow past norm
    1: the class can shift G's features only so far, so z must carry the rest. Called as `cbn([x, labels])` with labels int [N] in
    `[0, num_classes)`; a label outside that range (-1 included: `ops.take` alone would
    read class num_classes - 1) fails in the gather, see `label_checks.class_ids`.

    With `fused=True` (the default) the normalization and the class affine are one
    scale-and-shift, y = x * a_c + b_c with a_c = gamma[c] / sqrt(var + eps) and
    b_c = beta[c] - mu * a_c computed per example in float32 ([N, C], cheap): one pass
    over x instead of Keras' float32 upcast, normalize, downcast, then gain and bias
    (Keras 3's BatchNormalization has no fused kernel on TF). The statistics and
    a_c, b_c stay float32; only the final multiply-add runs in the compute dtype.
    Same equation, same variables (the inner layer's moving averages); `fused=False`
    is the plain path, kept as the reference the tests compare against.

    Args:
        num_classes: number of classes (rows of gamma and beta).
        momentum: moving-average momentum. 0.9, as the authors' TF code
            (`decay=0.9`); Keras' default is 0.99.
        epsilon: variance epsilon (1e-5 as the authors' code).
        synchronized: compute batch statistics across all replicas of a
            `tf.distribute` strategy (Keras' `synchronized` BatchNormalization).
        fused: one scale-and-shift pass (see above) instead of normalize-then-affine.
        class_affine: "table" (the paper's free gamma and beta tables) or "sn_linear"
            (BigGAN's and StudioGAN's spectrally normalized offsets, see above).
        power_iterations: power iterations of the "sn_linear" form's spectral norms.
    """

    def __init__(self, num_classes, momentum=0.9, epsilon=1e-5, synchronized=False,
                 fused=True, class_affine="table", power_iterations=1, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = check_num_classes(num_classes)
        self.momentum = momentum
        self.epsilon = epsilon
        self.synchronized = bool(synchronized)
        self.fused = bool(fused)
        if class_affine not in CLASS_AFFINES:
            raise ValueError(f"`class_affine` must be one of {CLASS_AFFINES}. "
                             f"Received: class_affine={class_affine!r}")
        self.class_affine = class_affine
        self.power_iterations = power_iterations
        self.batch_norm = BatchNorm(
            momentum=momentum, epsilon=epsilon, center=False, scale=False,
            synchronized=self.synchronized, fused=self.fused, dtype=self.dtype_policy,
            name="bn")

    def build(self, input_shape):
        if not isinstance(input_shape, (list, tuple)) or len(input_shape) != 2:
            raise ValueError(
                "`ConditionalBatchNorm` is called on `[x, labels]`. "
                f"Received: input_shape={input_shape}")
        x_shape, labels_shape = input_shape
        check_labels_shape(labels_shape)
        channels = x_shape[-1]
        self.batch_norm.build(x_shape)
        if self.class_affine == "sn_linear":
            self.gamma_offset, self.beta_linear = (
                SpectralEmbedding(self.num_classes, channels, self.power_iterations,
                                  embeddings_initializer="orthogonal", name=name)
                for name in ("gain", "bias"))
            for layer in (self.gamma_offset, self.beta_linear):
                layer.build(labels_shape)
            return
        self.gamma = self.add_weight(name="gain", shape=(self.num_classes, channels),
                                     initializer="ones")
        self.beta = self.add_weight(name="bias", shape=(self.num_classes, channels),
                                    initializer="zeros")

    def call(self, inputs, training=None):
        x, c = inputs
        check_labels_shape(c.shape)  # build() checks only the first call
        c = class_ids(c, self.num_classes)  # -1 fails as num_classes does
        if self.class_affine == "sn_linear":
            gamma_c = 1.0 + self.gamma_offset(c, training=training)
            beta_c = self.beta_linear(c, training=training)
        else:
            gamma_c = ops.take(self.gamma, c, axis=0)
            beta_c = ops.take(self.beta, c, axis=0)
        if self.fused:
            return self.batch_norm.scale_and_shift(x, training, gamma_c, beta_c)
        x_hat = self.batch_norm(x, training=training)
        return per_example(gamma_c, x) * x_hat + per_example(beta_c, x)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[0])

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "momentum": self.momentum, "epsilon": self.epsilon,
                "synchronized": self.synchronized, "fused": self.fused,
                "class_affine": self.class_affine,
                "power_iterations": self.power_iterations}

"""A spectrally normalized embedding (the projection discriminator's class embedding)."""

import keras
from keras import ops

from sagan_tf.layers.label_checks import check_positive_int, class_ids
from sagan_tf.layers.spectral_norm import SpectralNormMixin, validate_power_iterations


@keras.saving.register_keras_serializable(package="sagan_tf")
class SpectralEmbedding(SpectralNormMixin, keras.layers.Layer):
    """Embedding lookup in a spectrally normalized embedding matrix.

    e(y) = E_SN[y],  E_SN = E / sigma(E), with E the [input_dim, output_dim] matrix,
    sigma(E) its largest singular value estimated by power iteration on a persistent u
    of shape [1, output_dim]. The SAGAN authors' `sn_embedding` and torch's
    `spectral_norm` on `nn.Embedding` (StudioGAN) keep u over the classes instead
    ([1, input_dim]): sigma(E) = sigma(E^T), so both estimate the same value, but one
    power-iteration step differs slightly (measured in docs/studies.md, "One update
    beside StudioGAN": 4.9e-5 of an SGD step of G). Unlike
    `keras.layers.SpectralNormalization`, which overwrites the kernel in place and
    fails on an embedding, the ids are plain integers and the gradient reaches E
    through E / sigma(E) (u and v held constant).

    Ids must lie in `[0, input_dim)`. An id outside it fails in the gather, -1 the
    same way as input_dim (`ops.take` alone would read the last row for -1; see
    `label_checks.class_ids`).

    Args:
        input_dim: number of ids (classes).
        output_dim: embedding size.
        power_iterations: power iterations per training call.
        embeddings_initializer: initializer of E.
    """

    def __init__(self, input_dim, output_dim, power_iterations=1,
                 embeddings_initializer="glorot_uniform", **kwargs):
        super().__init__(**kwargs)
        validate_power_iterations(power_iterations)
        self.input_dim = check_positive_int(input_dim, "input_dim")
        self.output_dim = check_positive_int(output_dim, "output_dim")
        self.power_iterations = power_iterations
        self.embeddings_initializer = keras.initializers.get(embeddings_initializer)

    def build(self, input_shape):
        self.kernel = self.add_weight(
            name="embeddings", shape=(self.input_dim, self.output_dim),
            initializer=self.embeddings_initializer, autocast=False)
        self._build_u(self.output_dim)

    def call(self, ids, training=None):
        e_sn = self.normalized_kernel(training)
        return ops.take(e_sn, class_ids(ids, self.input_dim), axis=0)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape) + (self.output_dim,)

    def get_config(self):
        return {**super().get_config(), "input_dim": self.input_dim,
                "output_dim": self.output_dim, "power_iterations": self.power_iterations,
                "embeddings_initializer":
                    keras.initializers.serialize(self.embeddings_initializer)}

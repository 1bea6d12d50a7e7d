"""The projection discriminator's output head."""

import keras
from keras import ops

from sagan_tf.layers.label_checks import check_labels_shape, check_num_classes
from sagan_tf.layers.spectral_dense import SpectralDense
from sagan_tf.layers.spectral_embedding import SpectralEmbedding


@keras.saving.register_keras_serializable(package="sagan_tf")
class ProjectionHead(keras.layers.Layer):
    """Projection discriminator output (Miyato & Koyama 2018).

        phi(x) = sum_{h,w} ReLU(x)          (global sum pooling)
        D(x, y) = psi(phi(x)) + <embed(y), phi(x)>
        D(x) = psi(phi(x))                  (num_classes=None: unconditional)

    psi is an SN dense layer to one unit and embed an SN embedding. Called as
    `head([features, labels])`; returns one logit per example, shape [N]. A label
    outside `[0, num_classes)`, -1 included, fails in the embedding's gather. With
    `num_classes=None` there is no embedding and no projection term (an unconditional
    discriminator), and the head is called as `head(features)`.

    Args:
        num_classes: number of classes of the embedding; None for none.
        power_iterations: spectral-norm power iterations per training call.
    """

    def __init__(self, num_classes, power_iterations=1, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = None if num_classes is None else check_num_classes(num_classes)
        self.power_iterations = power_iterations
        self.psi = SpectralDense(1, power_iterations=power_iterations, name="psi",
                                 dtype=self.dtype_policy)
        self.embed = None

    def build(self, input_shape):
        x_shape, labels_shape = self._split(input_shape)
        channels = x_shape[-1]
        self.psi.build((x_shape[0], channels))
        if self.num_classes is None:
            return
        check_labels_shape(labels_shape)
        self.embed = SpectralEmbedding(self.num_classes, channels, name="embed",
                                       power_iterations=self.power_iterations,
                                       dtype=self.dtype_policy)
        self.embed.build(labels_shape)

    def call(self, inputs, training=None):
        x, y = self._split(inputs)
        phi = ops.sum(ops.relu(x), axis=(1, 2))
        psi = ops.squeeze(self.psi(phi, training=training), axis=-1)
        if self.num_classes is None:
            return ops.cast(psi, "float32")
        check_labels_shape(y.shape)  # build() checks only the first call
        projection = ops.sum(self.embed(y, training=training) * phi, axis=-1)
        return ops.cast(psi + projection, "float32")

    def compute_output_shape(self, input_shape):
        return (self._split(input_shape)[0][0],)

    def _split(self, inputs):
        """`(features, labels)` of `[features, labels]`, or of `features` (labels None)."""
        if self.num_classes is None:
            if isinstance(inputs, (list, tuple)) and len(inputs) == 2:
                raise ValueError("An unconditional `ProjectionHead` (num_classes=None) is "
                                 "called as `head(features)`, without labels.")
            return inputs, None
        if not isinstance(inputs, (list, tuple)) or len(inputs) != 2:
            raise ValueError("A class-conditional `ProjectionHead` is called as "
                             f"`head([features, labels])`. Received: inputs={inputs}")
        return inputs

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes,
                "power_iterations": self.power_iterations}

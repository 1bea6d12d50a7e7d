"""`Classifier`: an image classifier returning logits and pooled activations.

The loaders in `sagan_tf.metrics.classifier_loaders` wrap TF-GAN's Inception network,
SavedModels and Keras models in a `Classifier`, whose `logits_and_activations(images)`
takes float32 images in [-1, 1] of any size and resizes them to the classifier's input
size.
"""

import hashlib

import numpy as np
import tensorflow as tf


class ClassifierNotFoundError(FileNotFoundError):
    """The classifier named by `--classifier` is not available locally."""


class Classifier:
    """An image classifier returning logits and pooled activations.

    Args:
        fn: callable mapping float32 images `[B, H, W, C]` in [-1, 1] at
            `input_size` to a pair `(logits [B, ...], activations [B, ...])`;
            both are flattened to 2D.
        input_size: `(height, width)` the classifier expects.
        name: a name for messages and reports.
        channels: number of image channels the classifier expects.
        num_classes: number of logits; found with one probe call if `None`.
        num_features: size of the activations; found with one probe call if
            `None`.
    """

    def __init__(self, fn, input_size, name, channels=3, num_classes=None,
                 num_features=None):
        self.input_size = _as_size(input_size)
        self.name = name
        self.channels = int(channels)
        self._fn = fn
        # Images are resized before the call, so only the batch size varies.
        self._compiled = tf.function(self._forward, input_signature=[
            tf.TensorSpec([None, *self.input_size, self.channels], tf.float32)])
        if num_classes is None or num_features is None:
            probe = tf.zeros([1, *self.input_size, self.channels], tf.float32)
            logits, activations = self._compiled(probe)
            num_classes = int(logits.shape[-1])
            num_features = int(activations.shape[-1])
        self.num_classes = int(num_classes)
        self.num_features = int(num_features)

    def _forward(self, images):
        logits, activations = self._fn(images)
        batch = tf.shape(images)[0]
        logits = tf.reshape(tf.cast(logits, tf.float32), [batch, -1])
        activations = tf.reshape(tf.cast(activations, tf.float32), [batch, -1])
        return logits, activations

    def logits_and_activations(self, images):
        """Runs the classifier on a batch of images.

        Args:
            images: `[B, H, W, C]` images, float in [-1, 1] (uint8 in [0, 255] is
                converted), of any size: they are resized (bilinear) to
                `input_size`. One-channel images are repeated to three channels
                when the classifier expects three.

        Returns:
            Tuple `(logits, activations)` of float32 `tf.Tensor`s of shapes
            `[B, num_classes]` and `[B, num_features]`.
        """
        images = self.preprocess(images)
        return self._compiled(images)

    def preprocess(self, images):
        """Converts, validates and resizes `images` as `logits_and_activations` does."""
        images = tf.convert_to_tensor(images)
        if images.shape.rank != 4:
            raise ValueError("`images` must be a 4D batch [batch, height, width, "
                             f"channels]. Received: shape={images.shape}")
        if images.dtype == tf.uint8:
            images = tf.cast(images, tf.float32) / 127.5 - 1.0
        elif images.dtype.is_floating:
            images = tf.cast(images, tf.float32)
        else:
            raise ValueError("`images` must be float in [-1, 1] or uint8. "
                             f"Received: dtype={images.dtype.name}")
        channels = images.shape[-1]
        if channels == 1 and self.channels == 3:
            images = tf.tile(images, [1, 1, 1, 3])
        elif channels != self.channels:
            hint = (f" {channels}-band (multispectral) images need a classifier of "
                    "their domain: `--classifier=domain` or a classifier file of "
                    f"{channels} channels." if channels > 3 and self.channels == 3 else "")
            raise ValueError(f"Classifier '{self.name}' expects {self.channels}-channel "
                             f"images. Received: shape={images.shape}.{hint}")
        if tuple(images.shape[1:3]) != self.input_size:
            images = tf.image.resize(images, self.input_size, method="bilinear")
        return images

    def __call__(self, images):
        return self.logits_and_activations(images)

    def __repr__(self):
        return (f"<Classifier '{self.name}' input_size={self.input_size} "
                f"num_classes={getattr(self, 'num_classes', '?')} "
                f"num_features={getattr(self, 'num_features', '?')}>")


def weights_hash(classifier):
    """SHA-256 (hex) of a classifier's weights: every variable's dtype, shape and values,
    in the order of its Keras model's `weights` or of its SavedModel's object graph.

    Two classifiers with the same name but other weights (another Inception export, a
    retrained domain classifier) give other hashes; reference statistics record it.
    `None` for a `Classifier` built from a bare function (no `model` or `module`).
    """
    owner = getattr(classifier, "model", None)
    if owner is not None:
        variables = list(owner.weights)
    else:
        owner = getattr(classifier, "module", None)
        if owner is None:
            return None
        variables = [v for v in tf.train.TrackableView(owner).descendants()
                     if isinstance(v, tf.Variable)]
    digest = hashlib.sha256()
    for variable in variables:
        value = np.ascontiguousarray(np.asarray(variable))
        digest.update(f"{value.dtype.str}{value.shape};".encode())
        digest.update(value.tobytes())
    return digest.hexdigest()


def _as_size(size):
    if isinstance(size, (int, np.integer)):
        size = (size, size)
    size = tuple(int(s) for s in size)
    if len(size) != 2 or min(size) < 1:
        raise ValueError("`input_size` must be a positive int or (height, width). "
                         f"Received: input_size={size}")
    return size

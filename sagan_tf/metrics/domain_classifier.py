"""A small CNN trained on the data set itself, for data where Inception does not fit.

Inception features say little about 32x32 renderings of 8x8 handwritten digits.
For such data sets (`--classifier=domain`) the metrics use a classifier trained on
the real training images instead: its class logits give the Inception-Score-like
score and the class accuracy of generated images, its 128-dimensional penultimate
layer ("features") the activations for FID and KID. Numbers from different domain
classifiers are not comparable; keep the saved `.keras` file to reuse it.
"""

import os

import keras
import numpy as np
import tensorflow as tf

from sagan_tf.metrics import keras_files
from sagan_tf.metrics.classifier_loaders import keras_classifier

DEFAULT_FEATURE_DIM = 128
FEATURES_LAYER = "features"
LOGITS_LAYER = "logits"


def build_domain_classifier(input_shape, num_classes, feature_dim=DEFAULT_FEATURE_DIM,
                            seed=0, name="domain_classifier"):
    """Builds the (untrained) domain classifier CNN.

    Three conv stages (32, 64, 128 channels; 3x3 convs with batch norm and ReLU,
    2x2 max pooling between stages), global average pooling, dropout, a
    `feature_dim` ReLU dense layer named "features" and a dense layer of
    `num_classes` logits named "logits".

    Args:
        input_shape: `(height, width, channels)` of the images, in [-1, 1].
        num_classes: number of classes.
        feature_dim: size of the "features" layer, the activations for FID/KID.
        seed: seed of the weight initialisers and dropout.
        name: model name.

    Returns:
        A functional `keras.Model` mapping images to logits.
    """
    seeds = iter(range(seed * 100, seed * 100 + 100))

    def conv(filters):
        return keras.layers.Conv2D(
            filters, 3, padding="same", use_bias=False,
            kernel_initializer=keras.initializers.HeNormal(seed=next(seeds)))

    inputs = keras.Input(tuple(input_shape), name="images")
    x = inputs
    for stage, filters in enumerate((32, 64, 128)):
        if stage:
            x = keras.layers.MaxPooling2D(2)(x)
        x = conv(filters)(x)
        x = keras.layers.BatchNormalization(momentum=0.9)(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.3, seed=next(seeds))(x)
    x = keras.layers.Dense(
        feature_dim, activation="relu", name=FEATURES_LAYER,
        kernel_initializer=keras.initializers.HeNormal(seed=next(seeds)))(x)
    logits = keras.layers.Dense(
        num_classes, name=LOGITS_LAYER,
        kernel_initializer=keras.initializers.GlorotUniform(seed=next(seeds)))(x)
    return keras.Model(inputs, logits, name=name)


def train_domain_classifier(train_data, num_classes, test_data=None, epochs=10,
                            batch_size=32, learning_rate=1e-3,
                            feature_dim=DEFAULT_FEATURE_DIM, seed=0, verbose=1):
    """Trains a domain classifier on real images.

    Args:
        train_data: `(images, labels)` arrays, or a `tf.data.Dataset` of
            `(images, labels)` (batched or not). Images are float in [-1, 1],
            `[N, H, W, C]`; labels integer class ids.
        num_classes: number of classes.
        test_data: held-out data in the same form, for the test accuracy.
        epochs: training epochs.
        batch_size: batch size (for arrays and unbatched datasets).
        learning_rate: initial Adam learning rate (cosine-decayed to 0 when the
            number of steps is known).
        feature_dim: size of the features layer.
        seed: seed of initialisers, dropout and shuffling (global seeds are left
            alone).
        verbose: Keras verbosity of `fit`; with `verbose` the test accuracy is
            printed.

    Returns:
        Tuple `(model, test_accuracy)`: the trained `keras.Model` and the accuracy
        on `test_data` (a Python float), or `None` without test data.
    """
    num_classes = _check_num_classes(num_classes)
    epochs = int(epochs)
    if epochs < 1:
        raise ValueError(f"`epochs` must be positive. Received: epochs={epochs}")
    dataset, input_shape = _as_dataset(train_data, "train_data", batch_size,
                                       num_classes, shuffle_seed=seed)
    model = build_domain_classifier(input_shape, num_classes, feature_dim, seed=seed)
    steps = int(dataset.cardinality())
    if steps > 0:
        # Decay to zero over training: the last epochs settle the weights (and
        # the batch norm statistics) instead of ending on a large step.
        learning_rate = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=steps * epochs)
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"])
    model.fit(dataset, epochs=epochs, verbose=verbose, shuffle=False)  # Shuffled above.
    accuracy = None
    if test_data is not None:
        accuracy = classifier_accuracy(model, test_data, batch_size=batch_size)
        if verbose:
            print(f"Domain classifier test accuracy: {accuracy:.4f}")
    return model, accuracy


def classifier_accuracy(model, data, batch_size=256):
    """Fraction of `data` whose argmax logit equals the label.

    Args:
        model: a classifier `keras.Model` (or `Classifier`) returning logits.
        data: `(images, labels)` arrays or a `tf.data.Dataset` of them.
        batch_size: batch size for arrays and unbatched datasets.

    Returns:
        The accuracy, a Python float.
    """
    dataset, _ = _as_dataset(data, "data", batch_size, num_classes=None)
    correct = total = 0
    for images, labels in dataset:
        if hasattr(model, "logits_and_activations"):
            logits, _ = model.logits_and_activations(images)
        else:
            logits = model(images, training=False)
        correct += int(np.sum(np.argmax(logits, axis=-1) == labels.numpy()))
        total += int(labels.shape[0])
    if total == 0:
        raise ValueError("`data` is empty.")
    return correct / total


def load_or_train_domain_classifier(path, train_data=None, test_data=None,
                                    num_classes=None, epochs=10, batch_size=32,
                                    seed=0, verbose=1):
    """The domain classifier at `path`, trained and saved there first if missing.

    Args:
        path: `.keras` file to load, or to save the trained model to; local or on any
            TensorFlow filesystem (`gs://...`, see `sagan_tf.metrics.keras_files`).
        train_data: training data (see `train_domain_classifier`); needed only if
            `path` does not exist yet.
        test_data: held-out data; if given, the test accuracy is computed (and
            printed with `verbose`) whether the model was loaded or trained.
        num_classes: number of classes; needed for training, checked against a
            loaded model.
        epochs: training epochs.
        batch_size: training batch size.
        seed: training seed.
        verbose: verbosity.

    Returns:
        Tuple `(classifier, test_accuracy)`: a `Classifier` (logits: the class
        logits; activations: the "features" layer) and the test accuracy or
        `None` without `test_data`.

    Raises:
        ValueError: if `path` is missing and there is no `train_data`, or the
            saved model does not match `num_classes`.
    """
    path = os.fspath(path)
    if not path.endswith(".keras"):
        raise ValueError("`path` must be a `.keras` file. "
                         f"Received: path={path}")
    if tf.io.gfile.exists(path):
        model = keras_files.load_keras_file(path)
        saved_classes = int(model.output_shape[-1])
        if num_classes is not None and saved_classes != int(num_classes):
            raise ValueError(
                f"The domain classifier at {path} has {saved_classes} classes, but "
                f"the data has num_classes={num_classes}. Delete it or pass another "
                "path to train a new one.")
        if verbose:
            print(f"Loaded domain classifier from {path}")
        accuracy = None
        if test_data is not None:
            accuracy = classifier_accuracy(model, test_data)
            if verbose:
                print(f"Domain classifier test accuracy: {accuracy:.4f}")
    else:
        if train_data is None:
            raise ValueError(
                f"No domain classifier at {path} and no `train_data` to train one. "
                "Pass the training images (`--classifier=domain` trains it on the "
                "dataset's training split) or a path to an existing `.keras` file.")
        if num_classes is None:
            raise ValueError("`num_classes` is needed to train the domain classifier.")
        model, accuracy = train_domain_classifier(
            train_data, num_classes, test_data, epochs=epochs, batch_size=batch_size,
            seed=seed, verbose=verbose)
        keras_files.save_keras_file(model, path)
        if verbose:
            print(f"Saved domain classifier to {path}")
    return domain_classifier_from_model(model), accuracy


def domain_classifier_from_model(model):
    """Wraps a domain classifier `keras.Model` (or `.keras` path) as a `Classifier`.

    Logits are the model's output, activations the "features" layer.
    """
    classifier = keras_classifier(model, activations_layer=FEATURES_LAYER,
                                  outputs_probabilities=False)
    classifier.name = "domain"
    return classifier


def _check_num_classes(num_classes):
    if num_classes is None or int(num_classes) < 2:
        raise ValueError("`num_classes` must be at least 2. "
                         f"Received: num_classes={num_classes}")
    return int(num_classes)


def _as_dataset(data, name, batch_size, num_classes, shuffle_seed=None):
    """Returns `(batched dataset of (float32 images, int32 labels), image shape)`."""
    batch_size = int(batch_size)
    if batch_size < 1:
        raise ValueError("`batch_size` must be positive. "
                         f"Received: batch_size={batch_size}")
    if isinstance(data, tf.data.Dataset):
        spec = data.element_spec
        if not isinstance(spec, tuple) or len(spec) < 2:
            raise ValueError(f"`{name}` must yield (images, labels). "
                             f"Received: element_spec={spec}")
        image_spec = spec[0]
        rank = image_spec.shape.rank
        if rank == 3:
            if shuffle_seed is not None:
                data = data.shuffle(10_000, seed=shuffle_seed)
            data = data.batch(batch_size)
        elif rank != 4:
            raise ValueError(f"`{name}` images must be [H, W, C] or batches "
                             f"[B, H, W, C]. Received: shape={image_spec.shape}")
        shape = tuple(image_spec.shape[-3:])
        dataset = data.map(lambda x, y, *_: (tf.cast(x, tf.float32),
                                             tf.cast(y, tf.int32)))
        return dataset.prefetch(2), shape
    try:
        images, labels = data
    except (TypeError, ValueError) as e:
        raise ValueError(f"`{name}` must be (images, labels) arrays or a "
                         "tf.data.Dataset.") from e
    images = np.asarray(images, np.float32)
    labels = np.asarray(labels)
    if images.ndim != 4:
        raise ValueError(f"`{name}` images must be a 4D array [N, H, W, C]. "
                         f"Received: shape={images.shape}")
    if labels.shape != (images.shape[0],) or not np.issubdtype(labels.dtype,
                                                               np.integer):
        raise ValueError(f"`{name}` labels must be integer class ids, one per image. "
                         f"Received: shape={labels.shape}, dtype={labels.dtype}")
    if num_classes is not None and labels.size and (
            labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(f"`{name}` labels must be in [0, {num_classes}). Received: "
                         f"min={labels.min()}, max={labels.max()}")
    if images.size and (images.min() < -1.001 or images.max() > 1.001):
        raise ValueError(f"`{name}` images must be in [-1, 1]. Received: "
                         f"min={images.min():.3g}, max={images.max():.3g}")
    dataset = tf.data.Dataset.from_tensor_slices((images, labels.astype(np.int32)))
    if shuffle_seed is not None:
        dataset = dataset.shuffle(len(images), seed=shuffle_seed)
    return dataset.batch(batch_size).prefetch(2), images.shape[1:]

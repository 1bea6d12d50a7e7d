"""Loaders of the classifiers that map images to logits and pooled activations.

Paths may be local or on any TensorFlow filesystem (`gs://...`): they are checked
with `tf.io.gfile`. A classifier is one of:

- TF-GAN's Inception network, the TF-Hub module
  https://tfhub.dev/tensorflow/tfgan/eval/inception/1, from a local directory or
  the TF-Hub cache, where `tensorflow_hub` downloads it when it is not there yet and
  the network is allowed (`sagan_tf.metrics.hub_download`; `inception_classifier`,
  `load_classifier("inception")`), as TF-GAN loads it;
- any SavedModel whose call or signature maps images to a dict holding logits and
  activations (`saved_model_classifier`);
- a Keras model, in memory or as a `.keras` file (`keras_classifier`); the domain
  classifier of `sagan_tf.metrics.domain_classifier` is one.

All are wrapped in a `Classifier` (`sagan_tf.metrics.classifier`), whose
`logits_and_activations(images)` takes float32 images in [-1, 1] of any size and
resizes them to the classifier's input size. TF-Hub caches are searched by
`sagan_tf.metrics.hub_cache`.
"""

import os

import keras
import tensorflow as tf

from sagan_tf import compat
from sagan_tf.metrics import keras_files
from sagan_tf.metrics import saved_model_calls
from sagan_tf.metrics.classifier import Classifier
from sagan_tf.metrics.classifier import ClassifierNotFoundError
from sagan_tf.metrics import hub_download
from sagan_tf.metrics.hub_cache import default_hub_cache_dir

# TF-GAN's Inception module (`tfgan.eval.INCEPTION_TFHUB` and friends).
INCEPTION_HANDLE = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
# Handles under which tensorflow_hub may have cached the same module.
INCEPTION_HANDLES = (
    INCEPTION_HANDLE,
    "https://hub.tensorflow.google.cn/tensorflow/tfgan/eval/inception/1",
)
INCEPTION_INPUT_SIZE = 299
INCEPTION_LOGITS = "logits"
INCEPTION_ACTIVATIONS = "pool_3"


def load_classifier(classifier, *, input_size=None, logits_key=None,
                    activations_key=None, signature=None, activations_layer=None,
                    hub_cache_dir=None, offline=None):
    """Loads a classifier from a local path or TF-Hub (the `--classifier` flag).

    Args:
        classifier: one of
            - `"inception"`: TF-GAN's Inception module from the TF-Hub cache,
              downloaded there if needed (see `hub_download.resolve_module`);
            - a TF-Hub handle URL (`https://...`): that module, the same way;
            - a `.keras` file: see `keras_classifier`;
            - a directory holding a SavedModel or TF-Hub module (such as the
              untarred Inception module): see `saved_model_classifier`.
            `"domain"` is not loaded here: the domain classifier needs data, see
            `sagan_tf.metrics.load_or_train_domain_classifier`.
        input_size: image size the classifier expects, int or `(height, width)`;
            inferred where possible (see the loaders).
        logits_key: SavedModel output holding the logits (default `"logits"`).
        activations_key: SavedModel output holding the activations (default
            `"pool_3"`).
        signature: SavedModel signature to call (default: call the object itself
            if it is callable, as TF-GAN does, else `serving_default` or
            `default`).
        activations_layer: Keras layer whose output gives the activations
            (default: the penultimate layer).
        hub_cache_dir: TF-Hub cache directory (default: as tensorflow_hub, see
            `default_hub_cache_dir`).
        offline: forbid downloads (default: `$SAGAN_OFFLINE`, see `hub_download`).

    Returns:
        A `Classifier`.

    Raises:
        ClassifierNotFoundError: if the path does not exist, or the module is neither
            in the TF-Hub cache nor downloadable (offline, or the download failed);
            the message says how to obtain TF-GAN's Inception.
        ValueError: if the path is neither a `.keras` file nor a SavedModel.
    """
    classifier = os.fspath(classifier)
    if classifier == "domain":
        raise ValueError(
            "`--classifier=domain` needs the dataset's training images to train (or "
            "a path to load) the domain classifier: use "
            "sagan_tf.metrics.load_or_train_domain_classifier(path, train_data, "
            "test_data, num_classes).")
    saved_model_kwargs = dict(input_size=input_size, logits_key=logits_key,
                              activations_key=activations_key, signature=signature)
    if classifier == "inception":
        return inception_classifier(
            input_size=input_size or INCEPTION_INPUT_SIZE, hub_cache_dir=hub_cache_dir,
            offline=offline)
    if classifier.startswith(("http://", "https://")):
        path = _resolve(classifier, (classifier,), hub_cache_dir, offline)
        return saved_model_classifier(path, **saved_model_kwargs)
    if not tf.io.gfile.exists(classifier):
        raise ClassifierNotFoundError(_not_found_message(
            classifier, f"the path {classifier} does not exist"))
    if classifier.endswith(".keras"):
        return keras_classifier(classifier, input_size=input_size,
                                activations_layer=activations_layer)
    if tf.io.gfile.isdir(classifier) and saved_model_calls.is_saved_model(classifier):
        return saved_model_classifier(classifier, **saved_model_kwargs)
    raise ValueError(
        f"`--classifier={classifier}` is neither a `.keras` file nor a directory "
        "holding a SavedModel or TF-Hub module (saved_model.pb).")


def inception_classifier(path=None, input_size=INCEPTION_INPUT_SIZE,
                         hub_cache_dir=None, offline=None, handles=INCEPTION_HANDLES):
    """TF-GAN's Inception network from a local directory or TF-Hub.

    TF-GAN (`tfgan.eval.classifier_fn_from_tfhub`) loads the module with
    `tensorflow_hub.load(handle)`, calls the loaded object on images in [-1, 1]
    resized to 299x299, and flattens its dict outputs `logits` (1008 classes) and
    `pool_3` (2048 features). This does the same without TF-GAN's function, which
    cannot run with Keras 3 (it flattens with `tf.compat.v1.layers.flatten`); the
    module comes from the same place, `tensorflow_hub`'s cache and resolver.

    Args:
        path: directory holding the untarred module; if `None`, the module is
            taken from the TF-Hub cache, downloaded there first if needed and
            allowed (`hub_download.resolve_module`).
        input_size: image size fed to the module; 299 as in TF-GAN (smaller only
            for tests on stand-in modules).
        hub_cache_dir: TF-Hub cache directory when `path` is `None`.
        offline: forbid the download (default: `$SAGAN_OFFLINE`).
        handles: the handles the module may be cached under; the first is
            downloaded (tests serve a stand-in module under their own).

    Returns:
        A `Classifier` named "inception".
    """
    if path is None:
        path = _resolve("inception", handles, hub_cache_dir, offline,
                        what="TF-GAN's Inception module")
    elif not tf.io.gfile.isdir(path):
        raise ClassifierNotFoundError(_not_found_message(
            path, f"the directory {path} does not exist"))
    classifier = saved_model_classifier(
        path, input_size=input_size, logits_key=INCEPTION_LOGITS,
        activations_key=INCEPTION_ACTIVATIONS)
    classifier.name = "inception"
    return classifier


def saved_model_classifier(path, input_size=None, logits_key=None,
                           activations_key=None, signature=None):
    """A classifier from a SavedModel (or TF-Hub module) directory.

    How the model is called (`tensorflow_hub.load`, which for a local directory
    is `tf.saved_model.load`):
    - with `signature` given, the signature of that name, with the images as its
      only input;
    - else, if the loaded object is callable (a `tf.Module` saved with a
      `__call__` tf.function, as TF-GAN's Inception module), the object itself, as
      TF-GAN calls it;
    - else the `serving_default` signature, else `default` (TF1 Hub format), else
      the only signature.

    The call must return a dict; `logits_key` (default `"logits"`) names the
    logits and `activations_key` (default `"pool_3"`) the activations, TF-GAN's
    Inception output names. Both are flattened to 2D.

    Args:
        path: SavedModel directory.
        input_size: image size, int or `(height, width)`. Default: the static
            size of the model's input signature; if it has none, 299 (TF-GAN's
            Inception) when the default output keys are used, else an error.
        logits_key: output holding the logits.
        activations_key: output holding the activations.
        signature: name of the signature to call.

    Returns:
        A `Classifier` named after the directory.
    """
    import tensorflow_hub  # Imported here: only SavedModel loading needs it.

    path = os.fspath(path)
    if not tf.io.gfile.isdir(path):
        raise ClassifierNotFoundError(_not_found_message(
            path, f"the directory {path} does not exist"))
    default_keys = logits_key is None and activations_key is None
    logits_key = INCEPTION_LOGITS if logits_key is None else logits_key
    activations_key = (INCEPTION_ACTIVATIONS if activations_key is None
                       else activations_key)
    module = tensorflow_hub.load(path)
    call, input_spec = saved_model_calls.saved_model_call(module, path, signature)

    if input_size is None:
        shape = getattr(input_spec, "shape", tf.TensorShape(None))
        if shape.rank == 4 and shape[1] is not None and shape[2] is not None:
            input_size = (shape[1], shape[2])
        elif default_keys:
            input_size = INCEPTION_INPUT_SIZE
        else:
            raise ValueError(
                f"The SavedModel at {path} does not fix its input image size; pass "
                "`input_size`.")
    channels = 3
    shape = getattr(input_spec, "shape", tf.TensorShape(None))
    if shape.rank == 4 and shape[3] is not None:
        channels = shape[3]

    def fn(images):
        outputs = call(images)
        if not isinstance(outputs, dict):
            raise ValueError(
                f"The SavedModel at {path} must return a dict holding logits and "
                f"activations. Received: {type(outputs).__name__}")
        missing = [k for k in (logits_key, activations_key) if k not in outputs]
        if missing:
            raise ValueError(
                f"The SavedModel at {path} has no output {missing}; its outputs are "
                f"{sorted(outputs)}. Name them with `logits_key` and "
                f"`activations_key`. Received: logits_key={logits_key!r}, "
                f"activations_key={activations_key!r}")
        return outputs[logits_key], outputs[activations_key]

    classifier = Classifier(fn, input_size, name=os.path.basename(
        os.path.normpath(path)), channels=channels)
    classifier.module = module  # Keeps the restored variables alive.
    return classifier


def keras_classifier(model, input_size=None, activations_layer=None,
                     outputs_probabilities=None):
    """A classifier from a Keras model or `.keras` file.

    Logits are the model's output; activations are the output of
    `activations_layer` (default: the penultimate layer, `model.layers[-2]`). The
    model must be Functional or Sequential (layer outputs must be reachable).

    Args:
        model: a `keras.Model`, or the path of a `.keras` file (local or on any
            TensorFlow filesystem, see `sagan_tf.metrics.keras_files`).
        input_size: image size, int or `(height, width)`; default from the model's
            input shape.
        activations_layer: name of the layer giving the activations.
        outputs_probabilities: whether the model outputs softmax probabilities
            rather than logits; then their logarithm is used as logits (same
            softmax). Default: detected from a final softmax activation.

    Returns:
        A `Classifier` named after the model.
    """
    if not isinstance(model, keras.Model):
        path = os.fspath(model)
        if not tf.io.gfile.exists(path):
            raise ClassifierNotFoundError(_not_found_message(
                path, f"the path {path} does not exist"))
        model = keras_files.load_keras_file(path)
    try:
        inputs = model.inputs
        if len(inputs) == 1:
            inputs = inputs[0]
        logits_output = model.outputs[0]
    except (AttributeError, ValueError, TypeError) as e:
        raise ValueError(
            f"Model '{model.name}' must be a Functional or Sequential model whose "
            f"layer outputs can be read ({e}).") from e
    if activations_layer is None:
        if len(model.layers) < 2:
            raise ValueError(f"Model '{model.name}' has no penultimate layer; pass "
                             "`activations_layer`.")
        layer = model.layers[-2]
    else:
        layer = model.get_layer(activations_layer)
    if outputs_probabilities is None:
        last = model.layers[-1]
        outputs_probabilities = (
            isinstance(last, keras.layers.Softmax)
            or getattr(last, "activation", None) is keras.activations.softmax)
    features = keras.Model(inputs, [logits_output, layer.output],
                           name=f"{model.name}_logits_and_activations")

    def fn(images):
        logits, activations = features(images, training=False)
        if outputs_probabilities:
            logits = tf.math.log(tf.maximum(tf.cast(logits, tf.float32), 1e-30))
        return logits, activations

    shape = model.input_shape
    if input_size is None:
        if shape[1] is None or shape[2] is None:
            raise ValueError(f"Model '{model.name}' does not fix its input image "
                             f"size {shape}; pass `input_size`.")
        input_size = (shape[1], shape[2])
    classifier = Classifier(fn, input_size, name=model.name,
                            channels=shape[3] or 3)
    classifier.model = model
    return classifier


def _resolve(classifier, handles, hub_cache_dir, offline, what=None):
    """The module directory of `handles` (cached or downloaded), else the error."""
    try:
        path = hub_download.resolve_module(handles, hub_cache_dir, offline, what)
    except hub_download.HubDownloadError as e:
        raise ClassifierNotFoundError(_not_found_message(classifier, str(e))) from e
    if path is None:
        raise ClassifierNotFoundError(_not_found_message(
            classifier, f"{what or handles[0]} is not in the TF-Hub cache directory "
            f"{hub_cache_dir or default_hub_cache_dir()} (folder "
            f"{compat.tfhub_cache_folder(handles[0])}) and downloads are off "
            f"(--offline or ${hub_download.OFFLINE_ENV})"))
    return path


def _not_found_message(classifier, reason):
    return (
        f"Classifier not found: `--classifier={classifier}`: {reason}. To use TF-GAN's "
        "Inception network without network access here, download "
        f"{INCEPTION_HANDLE} on a machine with network access (e.g. "
        f"`curl -L -o inception.tar.gz '{INCEPTION_HANDLE}?tf-hub-format=compressed'`"
        "), untar it into a directory (`mkdir inception && tar -xzf "
        "inception.tar.gz -C inception`) and pass `--classifier=/path/to/inception`"
        f" (or put it in the TF-Hub cache directory {default_hub_cache_dir()}, under the "
        f"folder {compat.tfhub_cache_folder(INCEPTION_HANDLE)}, and pass "
        "`--classifier=inception`). For datasets where Inception does not fit "
        "(such as digits), use `--classifier=domain` to train and use a domain "
        "classifier, or pass a `.keras` model or SavedModel of your own.")

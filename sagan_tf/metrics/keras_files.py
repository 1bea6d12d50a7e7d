"""`.keras` model files on any TensorFlow filesystem: local, `gs://`, `s3://`, `ram://`.

Keras reads and writes `.keras` files through local paths. These functions go through
`tf.io.gfile` for everything else: a model is saved to a local temporary file and copied,
and a URL is copied to a local temporary file to be loaded.
"""

import os
import tempfile
import zipfile

import keras
import tensorflow as tf

from sagan_tf import storage


def load_keras_file(path):
    """Loads the `.keras` file at `path` (uncompiled).

    Args:
        path: a local path, or a URL on any TensorFlow filesystem (a path holding "://",
            which is first copied to a local temporary file).

    Returns:
        The `keras.Model`.
    """
    path = os.fspath(path)
    try:
        if not _is_url(path):
            return keras.saving.load_model(path, compile=False)
        with tempfile.TemporaryDirectory() as tmp_dir:
            local = os.path.join(tmp_dir, "model.keras")
            tf.io.gfile.copy(path, local)
            return keras.saving.load_model(local, compile=False)
    except (ValueError, OSError, KeyError, TypeError, zipfile.BadZipFile,
            tf.errors.OpError) as e:  # a truncated or foreign file
        raise ValueError(f"The Keras model file {path} cannot be loaded "
                         f"({type(e).__name__}: {e}). Is it damaged? Delete it (a domain "
                         "classifier is then trained again) or pass another file.") from None


def save_keras_file(model, path):
    """Saves `model` to the `.keras` file `path`, atomically where the filesystem allows.

    The model is saved to a local temporary file, copied next to `path` under a temporary
    name, and renamed to `path` (replacing any file there): a reader sees the old file or
    the new one, never a partial one (on local disks; object stores such as `gs://` rename
    by copying). Missing parent directories are created.

    Args:
        model: a `keras.Model`.
        path: a local path or a URL on any TensorFlow filesystem, ending in `.keras`.
    """
    path = os.fspath(path)
    directory = os.path.dirname(path)
    if directory:
        storage.makedirs(directory)
    with tempfile.TemporaryDirectory() as tmp_dir:
        local = os.path.join(tmp_dir, "model.keras")
        model.save(local)
        storage.copy(local, path)


def _is_url(path):
    return "://" in path

"""Finding a TF-Hub module in the cache where `tensorflow_hub` downloaded it, offline.

The cache folder of a handle comes from `sagan_tf.compat.tfhub_cache_folder` (the one
place that knows tensorflow_hub's private cache layout). The cache may be on any
TensorFlow filesystem (`gs://...`, as `tensorflow_hub` allows): it is read with
`tf.io.gfile`.
"""

import os
import tempfile

import tensorflow as tf

from sagan_tf import compat

_TFHUB_CACHE_ENV = "TFHUB_CACHE_DIR"


def default_hub_cache_dir():
    """The TF-Hub cache directory used when none is passed.

    The `TFHUB_CACHE_DIR` environment variable, else `<tempdir>/tfhub_modules`, as
    `tensorflow_hub.resolver.tfhub_cache_dir(use_temp=True)` finds it when its
    `--tfhub_cache_dir` absl flag is not set. Library code reads no flags: a program
    with such a flag passes its value as `hub_cache_dir` (e.g. to `load_classifier`).
    """
    cache_dir = os.environ.get(_TFHUB_CACHE_ENV)
    return cache_dir or os.path.join(tempfile.gettempdir(), "tfhub_modules")


def find_in_hub_cache(handles, cache_dir=None):
    """Finds a TF-Hub module that `tensorflow_hub` downloaded into its cache.

    `tensorflow_hub` stores the module of handle `h` (a URL) in
    `<cache_dir>/<compat.tfhub_cache_folder(h)>/` (the SHA-1 hex digest of `h`), with a
    `<folder>.descriptor.txt` file next to it, and takes a non-empty directory as a
    finished download. This looks there without any network access.

    Args:
        handles: a handle or a sequence of handles to try in order.
        cache_dir: cache directory; default `default_hub_cache_dir()`.

    Returns:
        The module directory, or `None` if no handle is cached.
    """
    if isinstance(handles, str):
        handles = (handles,)
    cache_dir = cache_dir or default_hub_cache_dir()
    for handle in handles:
        path = os.path.join(cache_dir, compat.tfhub_cache_folder(handle))
        if tf.io.gfile.isdir(path) and tf.io.gfile.listdir(path):
            return path
    return None

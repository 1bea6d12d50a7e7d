"""TF-Hub modules on demand: from the cache, else downloaded through `tensorflow_hub`.

As TF-GAN does (`tensorflow_hub.load(handle)`), a module that is not in the TF-Hub cache
is fetched by `tensorflow_hub`'s own resolver (`tensorflow_hub.resolve`): the compressed
module (`<handle>?tf-hub-format=compressed`), unpacked into its cache folder
(`sagan_tf.metrics.hub_cache`), so a later run finds it there and needs no network.

Offline mode forbids the network: `offline=True` (the programs' `--offline`) or the
environment variable `SAGAN_OFFLINE=1`. A module that is not cached is then not found,
and the caller raises its "how to obtain it" error.
"""

import contextlib
import os
import sys
import time

from sagan_tf.metrics.hub_cache import default_hub_cache_dir
from sagan_tf.metrics.hub_cache import find_in_hub_cache

OFFLINE_ENV = "SAGAN_OFFLINE"
_TRUE = ("1", "true", "yes", "on")


class HubDownloadError(OSError):
    """A module could not be downloaded (no network, a bad handle, a server error)."""


def is_offline(offline=None):
    """`offline` if given, else whether `$SAGAN_OFFLINE` is 1/true/yes/on."""
    if offline is not None:
        return bool(offline)
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUE


def resolve_module(handles, cache_dir=None, offline=None, what=None, stream=None):
    """The local directory of a TF-Hub module, downloading it if needed and allowed.

    Args:
        handles: a handle (URL) or handles under which the module may be cached; the
            first is downloaded when none is.
        cache_dir: TF-Hub cache directory (default `default_hub_cache_dir()`).
        offline: forbid the network (default: `is_offline()`).
        what: the module's name in the progress lines (default: the handle).
        stream: where the progress lines go (default stdout).

    Returns:
        The module directory, or `None` if it is not cached and the network is off.

    Raises:
        HubDownloadError: if the download fails.
    """
    if isinstance(handles, str):
        handles = (handles,)
    cache_dir = cache_dir or default_hub_cache_dir()
    path = find_in_hub_cache(handles, cache_dir)
    if path is not None or is_offline(offline):
        return path
    import tensorflow_hub  # Imported here: only a download needs its resolver.

    handle = handles[0]
    stream = stream or sys.stdout
    print(f"Downloading {what or handle} from {handle} into the TF-Hub cache {cache_dir} "
          "(once; --offline or SAGAN_OFFLINE=1 forbid it)...", file=stream, flush=True)
    start = time.time()
    try:
        with _hub_env(cache_dir, progress=hasattr(stream, "isatty") and stream.isatty()):
            path = tensorflow_hub.resolve(handle)
    except Exception as e:  # urllib, tarfile and tensorflow_hub errors alike
        raise HubDownloadError(f"Downloading {handle} through tensorflow_hub failed "
                               f"({type(e).__name__}: {e})") from e
    print(f"Downloaded {what or handle} into {path} in {time.time() - start:.1f} s.",
          file=stream, flush=True)
    return path


@contextlib.contextmanager
def _hub_env(cache_dir, progress):
    """tensorflow_hub's documented environment variables while it resolves:
    `TFHUB_CACHE_DIR=cache_dir` (it wins over its `--tfhub_cache_dir` flag) and, on a
    terminal, `TFHUB_DOWNLOAD_PROGRESS=1` (its progress line, redrawn in place; else it
    logs progress every 15 s at INFO)."""
    changes = {"TFHUB_CACHE_DIR": cache_dir}
    if progress:
        changes["TFHUB_DOWNLOAD_PROGRESS"] = "1"
    old = {name: os.environ.get(name) for name in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for name, value in old.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value

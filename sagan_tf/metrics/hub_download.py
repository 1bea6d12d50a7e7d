"""TF-Hub modules on demand: from the cache, else downloaded through `tensorflow_hub`.

As TF-GAN does (`tensorflow_hub.load(handle)`), a module that is not in the TF-Hub cache
is fetched by `tensorflow_hub`'s own resolver (`tensorflow_hub.resolve`): the compressed
module (`<handle>?tf-hub-format=compressed`), unpacked into its cache folder
(`sagan_tf.metrics.hub_cache`), so a later run finds it there and needs no network.

A download that receives nothing for `download_timeout()` seconds (the programs'
`--download_timeout`, or the environment variable `SAGAN_DOWNLOAD_TIMEOUT`; default
`DEFAULT_TIMEOUT_S`) fails naming the URL, and a download lock of `tensorflow_hub` left
by a dead process of this host is taken over (`hub_lock`).

Offline mode forbids the network: `offline=True` (the programs' `--offline`) or the
environment variable `SAGAN_OFFLINE=1`. A module that is not cached is then not found,
and the caller raises its "how to obtain it" error.
"""

import contextlib
import os
import socket
import sys
import time

from sagan_tf.metrics.hub_cache import default_hub_cache_dir
from sagan_tf.metrics.hub_cache import find_in_hub_cache
from sagan_tf.metrics.hub_lock import take_over_stale_lock

OFFLINE_ENV = "SAGAN_OFFLINE"
TIMEOUT_ENV = "SAGAN_DOWNLOAD_TIMEOUT"
#: Seconds without any data from the server before a download fails.
DEFAULT_TIMEOUT_S = 300.0
#: The help of the programs' --download_timeout setting.
TIMEOUT_HELP = (f"Seconds a download (of a TF-Hub classifier) may go without data before "
                f"it fails naming the URL (default: ${TIMEOUT_ENV}, else "
                f"{DEFAULT_TIMEOUT_S:g}).")
_TRUE = ("1", "true", "yes", "on")


class HubDownloadError(OSError):
    """A module could not be downloaded (no network, a bad handle, a server error)."""


def is_offline(offline=None):
    """`offline` if given, else whether `$SAGAN_OFFLINE` is 1/true/yes/on."""
    if offline is not None:
        return bool(offline)
    return os.environ.get(OFFLINE_ENV, "").strip().lower() in _TRUE


def download_timeout():
    """Seconds a download may go without data: `$SAGAN_DOWNLOAD_TIMEOUT`, else
    `DEFAULT_TIMEOUT_S`; ValueError naming the variable if it is not a positive number."""
    text = os.environ.get(TIMEOUT_ENV, "").strip()
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not 0 < value < float("inf"):
        raise ValueError(f"`{TIMEOUT_ENV}` (--download_timeout) must be a positive number of "
                         f"seconds. Received: {TIMEOUT_ENV}={text!r}")
    return value


def set_download_timeout(seconds):
    """A program's --download_timeout: sets `$SAGAN_DOWNLOAD_TIMEOUT` for this process
    (None: leaves it), checked as `download_timeout` reads it."""
    if seconds is None:
        return
    if not 0 < float(seconds) < float("inf"):
        raise ValueError("`--download_timeout` must be a positive number of seconds. "
                         f"Received: download_timeout={seconds}")
    os.environ[TIMEOUT_ENV] = repr(float(seconds))


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
    timeout = download_timeout()
    print(f"Downloading {what or handle} from {handle} into the TF-Hub cache {cache_dir} "
          f"(once; --offline or SAGAN_OFFLINE=1 forbid it; it fails after {timeout:g} s "
          "without data: --download_timeout or SAGAN_DOWNLOAD_TIMEOUT)...", file=stream,
          flush=True)
    take_over_stale_lock(handle, cache_dir)
    start = time.time()
    try:
        with _hub_env(cache_dir, progress=hasattr(stream, "isatty") and stream.isatty()), \
                _socket_timeout(timeout):
            path = tensorflow_hub.resolve(handle)
    except Exception as e:  # urllib, tarfile and tensorflow_hub errors alike
        if _timed_out(e):
            raise HubDownloadError(
                f"Downloading {handle} timed out: no data from the server for {timeout:g} s "
                f"(the URL {handle}). Check the network or the URL, or allow longer "
                f"with --download_timeout or {TIMEOUT_ENV}.") from e
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


@contextlib.contextmanager
def _socket_timeout(seconds):
    """urllib's sockets (which tensorflow_hub opens without a timeout) give up after
    `seconds` without data while it resolves."""
    old = socket.getdefaulttimeout()
    socket.setdefaulttimeout(seconds)
    try:
        yield
    finally:
        socket.setdefaulttimeout(old)


def _timed_out(error):
    """Whether `error` (or what it wraps: urllib's URLError.reason) is a timeout."""
    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, (TimeoutError, socket.timeout)):
            return True
        error = (getattr(error, "reason", None) or getattr(error, "__cause__", None)
                 or getattr(error, "__context__", None))
    return False

"""File I/O on any filesystem TensorFlow knows: local paths, `gs://`, `s3://`, `hdfs://`,
`ram://`.

Every file the package reads or writes on a user's path (run directories, exports,
image folders, evaluation results) goes through `tf.io.gfile`, here or directly, so that
a model_dir on shared storage works as a local one does. Paths are strings; join them
with `join` (plain "/" joins, which `os.path.join` also gives for URLs).

Writes are atomic where the filesystem allows: the data goes to `<path>.tmp-<pid>` and is
renamed over `path` (a rename on local disks and HDFS; a copy and delete on object
stores, where readers may see the old or the new file but never half of one).
"""

import json
import os

import tensorflow as tf


def join(*parts):
    """`os.path.join` of string paths (works for URLs such as gs://bucket/dir)."""
    return os.path.join(*(os.fspath(p) for p in parts))


def exists(path):
    return tf.io.gfile.exists(os.fspath(path))


def isdir(path):
    return tf.io.gfile.isdir(os.fspath(path))


def makedirs(path):
    """Creates `path` and its parents (no error if it exists)."""
    tf.io.gfile.makedirs(os.fspath(path))


def listdir(path):
    """Entry names of a directory, without the trailing "/" some filesystems add."""
    return sorted(name.rstrip("/") for name in tf.io.gfile.listdir(os.fspath(path)))


def is_remote(path):
    """Whether `path` names a non-local filesystem (it has a scheme, as gs://x)."""
    return "://" in os.fspath(path)


def read_bytes(path):
    with tf.io.gfile.GFile(os.fspath(path), "rb") as f:
        return f.read()


def read_text(path):
    with tf.io.gfile.GFile(os.fspath(path), "r") as f:
        return f.read()


def write_atomically(path, data):
    """Writes `data` (str or bytes) to `path`, creating its directory; atomic where the
    filesystem allows (see the module docstring)."""
    path = os.fspath(path)
    directory = os.path.dirname(path)
    if directory:
        makedirs(directory)
    tmp = f"{path}.tmp-{os.getpid()}"
    mode = "wb" if isinstance(data, bytes) else "w"
    try:
        with tf.io.gfile.GFile(tmp, mode) as f:
            f.write(data)
            f.flush()
        _fsync(tmp)
        tf.io.gfile.rename(tmp, path, overwrite=True)
    except BaseException:
        if tf.io.gfile.exists(tmp):
            tf.io.gfile.remove(tmp)
        raise
    return path


def _fsync(path):
    """Forces a local file's data to disk before it is renamed into place (a crash then
    leaves the old file or the new one, never an empty one); other filesystems have no
    fsync through tf.io.gfile, and their rename or upload is the commit."""
    if is_remote(path):
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def read_json(path):
    return json.loads(read_text(path))


def write_json(path, value):
    """Writes `value` as indented, key-sorted JSON (atomically); returns the path."""
    return write_atomically(path, json.dumps(value, indent=2, sort_keys=True) + "\n")


def copy(source, destination):
    """Copies a file, replacing `destination` (atomically where the filesystem allows)."""
    destination = os.fspath(destination)
    tmp = f"{destination}.tmp-{os.getpid()}"
    try:
        tf.io.gfile.copy(os.fspath(source), tmp, overwrite=True)
        tf.io.gfile.rename(tmp, destination, overwrite=True)
    except BaseException:
        remove(tmp)
        raise
    return destination


def move_tree(source, destination, last=()):
    """Moves the directory `source` to `destination` (which must not exist).

    A local directory is renamed (atomic). Elsewhere (object stores, `ram://`), where a
    directory is only a prefix and a "rename" renames one entry, every file is copied
    and the source deleted; the files named in `last` (relative paths, e.g. the
    SavedModel's saved_model.pb) are copied after all others, so that a reader that
    waits for them never sees a half-copied directory.
    """
    source, destination = os.fspath(source), os.fspath(destination)
    if not is_remote(source) and not is_remote(destination):
        tf.io.gfile.rename(source, destination)
        return destination
    files = _files_under(source)
    files.sort(key=lambda f: os.path.relpath(f, source) in last)
    for path in files:
        target = join(destination, os.path.relpath(path, source))
        makedirs(os.path.dirname(target))
        tf.io.gfile.copy(path, target, overwrite=True)
    remove_tree(source)
    return destination


def remove(path):
    """Deletes a file (nothing if it does not exist)."""
    try:
        tf.io.gfile.remove(os.fspath(path))
    except tf.errors.NotFoundError:
        pass


def remove_tree(path):
    """Deletes a directory and everything below it (nothing if it does not exist)."""
    path = os.fspath(path)
    if not tf.io.gfile.exists(path):
        return
    if not is_remote(path):
        tf.io.gfile.rmtree(path)
        return
    for name in _files_under(path):
        tf.io.gfile.remove(name)
    try:
        tf.io.gfile.rmtree(path)  # the directory entries left, where there are any
    except tf.errors.NotFoundError:
        pass


def _files_under(root):
    """Every file below `root`. Listings of prefix-based filesystems can show phantom
    entries (ram:// lists "assets/.extra" under "assets" when "assets.extra/" exists),
    so only paths that exist and are not directories count."""
    files = []
    for directory, _, names in tf.io.gfile.walk(root):
        files += [join(directory, name) for name in names]
    return [f for f in files if tf.io.gfile.exists(f) and not tf.io.gfile.isdir(f)]


def check_writable_directory(path, flag):
    """Raises ValueError naming `flag` unless `path` is, or can be made, a directory
    this process can write to (a file there, a file above it, a read-only or full
    filesystem are found now, not after minutes of work)."""
    _check_directory(os.fspath(path), f"`{flag}={os.fspath(path)}`")


def check_writable_file(path, flag):
    """Raises ValueError naming `flag` unless a file can be written at `path`."""
    path = os.fspath(path)
    if isdir(path):
        raise ValueError(f"`{flag}={path}` is a directory: pass a file name.")
    parent = os.path.dirname(path) or "."
    _check_directory(parent, f"`{flag}={path}`: its directory {parent}")


def _check_directory(path, what):
    if exists(path) and not isdir(path):
        raise ValueError(f"{what} is a file, not a directory: pass a directory (it is "
                         "created if needed).")
    try:
        makedirs(path)
    except (tf.errors.OpError, OSError) as e:
        raise ValueError(f"{what}: cannot create the directory ({_reason(e)}); is a part "
                         "of the path a file?") from None
    probe = join(path, f".write-test-{os.getpid()}")
    try:
        with tf.io.gfile.GFile(probe, "w") as f:
            f.write("x" * 4096)
        remove(probe)
    except (tf.errors.OpError, OSError) as e:
        try:  # a write that failed (a full disk) leaves no empty probe behind
            remove(probe)
        except (tf.errors.OpError, OSError):
            pass
        raise ValueError(f"{what} is not writable ({_reason(e)}): check its permissions "
                         "and free space.") from None


def _reason(error):
    return getattr(error, "message", None) or str(error) or type(error).__name__

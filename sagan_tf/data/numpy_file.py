"""The NumPy-file source: `--dataset=PATH.npy` or `PATH.npz`, on any TF filesystem.

A `.npy` file (`np.save`) holds an images array `[N, H, W]` or `[N, H, W, C]`: data
without classes. A `.npz` file (`np.savez`, `np.savez_compressed`) holds `images`, and
optionally `labels` (integers `[N]`: class-conditional data, classes 0 .. max label)
and `value_range` (`[0, 1]` or `[-1, 1]`: what float images hold; uint8 images hold
0..255). What a file is comes from its first bytes (NumPy's or zip's magic), not its
name. The file is read through `tf.io.gfile` with `allow_pickle=False` (unpickling can
run code), and the arrays are then checked and served as the arrays source's
(`arrays.check_arrays`, `arrays.array_source`): held in memory.
"""

import os
import zipfile
import zlib

import numpy as np
import tensorflow as tf

#: The endings of the values this source claims (any case).
EXTENSIONS = (".npy", ".npz")
#: The arrays a `.npz` file may hold; `images` is required.
KEYS = ("images", "labels", "value_range")
_NPY_MAGIC = b"\x93NUMPY"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # a zip with members; an empty one
_HOW = ("Write it with np.save(path, images) or np.savez(path, images=images, "
        "labels=labels)")


def is_numpy_file_name(value):
    """Whether `value` (a str or os.PathLike) ends in .npy or .npz."""
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    return isinstance(value, str) and value.lower().endswith(EXTENSIONS)


def read_numpy_file(path):
    """Reads `path` (a local path, `~` expanded, or a URL).

    Returns:
        `(images, labels or None, value_range or None)`, NumPy arrays as stored.

    Raises:
        ValueError: a missing file, one that is not NumPy's (or is truncated), a
            pickled (object) array, a `.npz` without `images` or with other keys.
    """
    local = path if "://" in path else os.path.expanduser(path)
    if not tf.io.gfile.exists(local):
        raise ValueError(f"`dataset` must be an existing .npy or .npz file. Received: "
                         f"dataset={path!r}, which does not exist.")
    with tf.io.gfile.GFile(local, "rb") as f:
        magic = f.read(len(_NPY_MAGIC))
        f.seek(0)
        if magic.startswith(_NPY_MAGIC):
            return _load(lambda: np.load(f, allow_pickle=False), path, "array"), None, None
        if magic[:4] in _ZIP_MAGICS:
            return _read_npz(f, path)
    raise ValueError(
        f"`dataset` must be a NumPy file (.npy: np.save; .npz: np.savez). Received: "
        f"dataset={path!r}, which starts with {magic!r}, neither NumPy's nor zip's magic "
        "bytes (a pickle is not read: allow_pickle=False). " + _HOW + ".")


def _read_npz(f, path):
    """`(images, labels, value_range)` of an open .npz file."""
    archive = _load(lambda: np.load(f, allow_pickle=False), path, "zip archive")
    with archive:
        keys = sorted(archive.files)
        if "images" not in keys or set(keys) - set(KEYS):
            raise ValueError(
                "`dataset` must be a .npz file with an `images` array, and optionally "
                f"`labels` and `value_range`, nothing else. Received: dataset={path!r} "
                f"with the keys {keys}. " + _HOW + ".")
        arrays = {key: _load(lambda key=key: archive[key], path, f"{key!r} array")
                  for key in keys}
    value_range = arrays.get("value_range")
    if value_range is not None:
        value_range = _as_value_range(value_range, path)
    return arrays["images"], arrays.get("labels"), value_range


def _load(read, path, what):
    """`read()`, with NumPy's and zip's errors said as what to do about the file."""
    try:
        return read()
    except ValueError as e:
        if "allow_pickle" not in str(e):  # NumPy's "EOF: reading array data ..."
            raise _damaged(path, what, e) from None
        raise ValueError(
            f"`dataset` must hold numeric arrays. Received: dataset={path!r}, whose "
            f"{what} holds Python objects (pickled), which are not loaded "
            "(allow_pickle=False: unpickling can run code). Save the images as uint8 "
            "(0..255) or float32 arrays, the labels as integers.") from None
    except (EOFError, OSError, zipfile.BadZipFile, zlib.error) as e:
        raise _damaged(path, what, e) from None


def _damaged(path, what, error):
    return ValueError(
        f"`dataset` must be a complete NumPy file. Received: dataset={path!r}, whose "
        f"{what} cannot be read (truncated or damaged: {type(error).__name__}: {error}). "
        + _HOW + " again.")


def _as_value_range(value, path):
    """A stored `value_range` as a tuple `(lo, hi)` of Python numbers."""
    flat = np.asarray(value).ravel()
    if flat.shape != (2,) or not np.issubdtype(flat.dtype, np.number):
        raise ValueError(f"`value_range` in a .npz file must be two numbers, [0, 1] or "
                         f"[-1, 1]. Received: value_range={value!r} in {path!r}")
    return tuple(int(v) if float(v).is_integer() else float(v) for v in flat)

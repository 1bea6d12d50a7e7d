"""Checks of a reference file's bytes and arrays, so that a bad file is refused by name
on load instead of scoring NaN or failing deep inside a metric."""

import io
import zipfile

import numpy as np

from sagan_tf.evaluation.generators import EvalError

_ZIP_MAGIC = b"PK\x03\x04"
#: |sigma - sigma^T| allowed, relative to max |sigma|: a covariance written by NumPy is
#: symmetric to float64 rounding (products summed in another order: ~1e-16 relative);
#: 1e-6 also accepts one stored in float32 (~6e-8 relative) and refuses a wrong matrix.
SYMMETRY_RTOL = 1e-6
_FIX = "Write it again with sagan-fid-stats (or pass the file it was copied from)."


def read_npz(path, data):
    """The arrays of the `.npz` bytes `data`, or `EvalError` naming what the file is."""
    if not data.startswith(_ZIP_MAGIC):
        raise EvalError(f"`--reference={path}` is not an .npz file (it does not start as "
                        f"a zip archive: {data[:8]!r}). {_FIX}")
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            return {name: npz[name] for name in npz.files}
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError) as e:
        raise EvalError(f"`--reference={path}` is a truncated or damaged .npz file "
                        f"({type(e).__name__}: {e}). {_FIX}") from None


def check_arrays(path, arrays):
    """Raises `EvalError` naming the array unless `mu` is [d], `sigma` [d, d] and
    symmetric, the activations [n, d] and every number finite."""
    where = f"`--reference={path}`"
    mu, sigma = np.asarray(arrays["mu"]).reshape(-1), np.asarray(arrays["sigma"])
    d = mu.size
    if sigma.shape != (d, d):
        raise EvalError(f"{where}: `sigma` must be [d, d] for `mu` of shape [d]. Received: "
                        f"mu.shape={mu.shape}, sigma.shape={sigma.shape}. {_FIX}")
    for name in ("mu", "sigma", "activations"):
        if name in arrays:
            values = np.asarray(arrays[name], dtype=np.float64)
            bad = int(np.size(values) - np.isfinite(values).sum())
            if bad:
                raise EvalError(f"{where}: `{name}` holds {bad} non-finite value(s) (NaN or "
                                f"inf); every FID from it would be NaN. {_FIX}")
    asymmetry = float(np.abs(sigma - sigma.T).max()) if d else 0.0
    if asymmetry > SYMMETRY_RTOL * max(float(np.abs(sigma).max()), 1e-300):
        raise EvalError(f"{where}: `sigma` is not symmetric (max |sigma - sigma^T| = "
                        f"{asymmetry:.3g}): it is not a covariance. {_FIX}")
    if "activations" in arrays:
        shape = np.shape(arrays["activations"])
        if len(shape) != 2 or shape[1] != d:
            raise EvalError(f"{where}: `activations` must be [n, {d}] like `mu`. "
                            f"Received: activations.shape={shape}. {_FIX}")
        if "labels" in arrays and np.shape(arrays["labels"]) != (shape[0],):
            raise EvalError(f"{where}: `labels` must be [{shape[0]}], one per activation. "
                            f"Received: labels.shape={np.shape(arrays['labels'])}. {_FIX}")


"""Helpers shared by the sagan_tf.data tests: loading a whole source, and independent
references (NumPy bilinear interpolation, PIL resizing) to compare the pipeline with."""

import types

import numpy as np
import pytest
from PIL import Image

from sagan_tf import data


def collect(ds):
    """All batches of a finite dataset, concatenated to NumPy arrays."""
    xs, ys = [], []
    for x, y in ds:
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)


def load_all(source, resolution, **kwargs):
    """Loads a source in its natural order, one epoch, nothing dropped."""
    kwargs.setdefault("global_batch_size", 7)
    return data.load_dataset(source, resolution=resolution, shuffle=False, repeat=False,
                             drop_remainder=False, **kwargs)


def np_bilinear_upsample(x, out):
    """Bilinear interpolation of [H, W] to [out, out] with half-pixel centers, written from
    the textbook formula (source coordinate (i + 0.5) * in / out - 0.5, clamped)."""
    def weights(n_in):
        src = np.clip((np.arange(out) + 0.5) * n_in / out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = src - lo
        m = np.zeros((out, n_in))
        m[np.arange(out), lo] += 1 - frac
        m[np.arange(out), hi] += frac
        return m
    return weights(x.shape[0]) @ x @ weights(x.shape[1]).T


def pil_resize_crop(rgb_unit, resolution):
    """Reference for resize-shorter-side + center-crop, using PIL's (antialiased) bilinear
    filter on float images per channel. `rgb_unit` is [H, W, 3] in [-1, 1]."""
    h, w = rgb_unit.shape[:2]
    scale = resolution / min(h, w)
    nh, nw = max(resolution, int(round(h * scale))), max(resolution, int(round(w * scale)))
    chans = [np.asarray(Image.fromarray(rgb_unit[..., c].astype(np.float32), mode="F")
                        .resize((nw, nh), Image.BILINEAR)) for c in range(3)]
    out = np.stack(chans, -1)
    top, left = (nh - resolution) // 2, (nw - resolution) // 2
    return out[top:top + resolution, left:left + resolution]


@pytest.fixture
def helpers():
    """The helpers above, for the test modules (conftest is not importable by name)."""
    return types.SimpleNamespace(collect=collect, load_all=load_all,
                                 np_bilinear_upsample=np_bilinear_upsample,
                                 pil_resize_crop=pil_resize_crop)

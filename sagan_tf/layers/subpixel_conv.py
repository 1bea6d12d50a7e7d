"""Nearest 2x upsampling then a 3x3 'same' convolution, as four 2x2 convolutions."""

import numpy as np
from keras import ops

from sagan_tf.layers.custom_kernel_gradient import with_kernel_gradient
from sagan_tf.layers.pair_means import tap_means

# Output row 2i + r of upsample-then-conv (phase r) reads upsampled rows 2i + r - 1,
# 2i + r, 2i + r + 1 (taps a = 0, 1, 2), that is input rows i + floor((r + a - 1) / 2):
# phase 0 reads row i - 1 with tap 0 and row i with taps 1 and 2; phase 1 reads row i
# with taps 0 and 1 and row i + 1 with tap 2. _ROW_TAPS[r, d, a] = 1 when tap a lands on
# the phase's d-th input row (d = 0, 1: rows i - 1 + r, i + r). The same holds for columns.
_ROW_TAPS = np.array([[[1, 0, 0], [0, 1, 1]],
                      [[1, 1, 0], [0, 0, 1]]], np.float32)
# [r, s, (d, e), (a, b)]: the 2D combination, per phase one row per 2x2 tap.
_PHASE_TAPS = np.einsum("rda,seb->rsdeab", _ROW_TAPS, _ROW_TAPS).reshape(2, 2, 4, 9)
# Tap a of output row p reads upsampled row p + a - 1, that is input row i when
# p + a - 1 is 2i or 2i + 1: output rows 2i + 1 - a and 2i + 2 - a, rows 2i + 2 - a and
# 2i + 3 - a of the output gradient padded by one. _TAP_WINDOWS[t, u, 0, 3a + b] = 1 on
# that 2x2 window of a 4x4 stride-2 window whose top-left corner is row 2i, column 2j of
# the padded gradient (TF's 'same' padding for a 4x4 stride-2 window over 2H rows).
_TAP_WINDOWS = np.zeros((4, 4, 1, 9), np.float32)
for _a in range(3):
    for _b in range(3):
        _TAP_WINDOWS[2 - _a:4 - _a, 2 - _b:4 - _b, 0, 3 * _a + _b] = 1


def phase_kernels(kernel):
    """The four 2x2 kernels of `upsample_conv3x3`: [2, 2, 2, 2, C, F], indexed
    [r, s] (output phase: row parity, column parity) then [dh, dw, C, F].

    Each is a sum of the 3x3 taps of `kernel` [3, 3, C, F] that read the same input
    pixel for that phase; computed in `kernel`'s dtype.
    """
    return ops.stack([ops.stack(row) for row in _phase_kernel_list(kernel)])


def _phase_kernel_list(kernel):
    """`phase_kernels` as a nested list [r][s] of [2, 2, C, F] tensors, each its own
    matmul: slicing one combined tensor would make autodiff write a zero-filled copy of
    all 16 taps per slice (`StridedSliceGrad`) and sum the four."""
    if tuple(kernel.shape[:2]) != (3, 3):
        raise ValueError(f"`kernel` must be [3, 3, C, F]. Received: shape={kernel.shape}")
    c, f = kernel.shape[2], kernel.shape[3]
    flat = ops.reshape(kernel, (9, c * f))
    kernels = []
    for r in range(2):
        row = []
        for s in range(2):
            taps = ops.convert_to_tensor(_PHASE_TAPS[r, s], kernel.dtype)
            row.append(ops.reshape(ops.matmul(taps, flat), (2, 2, c, f)))
        kernels.append(row)
    return kernels


def upsample_conv3x3(x, kernel):
    """conv3x3(upsample_nearest_2x(x), kernel) with zero 'same' padding, computed at the
    input's resolution (sub-pixel form); NHWC `x`, `kernel` [3, 3, C, F], no bias.

        y[2i + r, 2j + s] = sum_{dh, dw} K_rs[dh, dw] x[i + r - 1 + dh, j + s - 1 + dw]

    with K_rs = `phase_kernels(kernel)[r, s]` and x zero outside the image: the zero
    border of the upsampled map is exactly the zero border of x (row -1 of the
    upsampled map is row -1 of x, row 2H is row H). 4 instead of 9 multiply-adds per
    output pixel and input channel; the same result to float rounding. The phases are
    interleaved by a stack and a reshape (depth-to-space).

    The kernels are combined in `kernel`'s dtype (pass float32 for a bfloat16 `x`, so
    that the sums are rounded once) and cast to x's dtype.

    Gradients: x's is autodiff's (the four convolutions' input gradients); the
    kernel's is `kernel_gradient`, taken for the 3x3 kernel directly (9 products per
    input pixel instead of the phases' 16, and no convolution filter gradients).
    """
    return _KERNEL_GRADIENT(_phases(x, ops.stop_gradient(kernel)), x, kernel)


def kernel_gradient(x, dy, tap_sums=None):
    """dL/dK [3, 3, C, F] of `upsample_conv3x3(x, K)` given dL/dy `dy` [N, 2H, 2W, F].

        dL/dK[a, b] = sum_{i, j} x[i, j]^T V_ab[i, j]

    where V_ab[i, j] sums dy over the 2x2 output pixels whose tap (a, b) reads input
    pixel (i, j) (rows 2i + 1 - a and 2i + 2 - a, the same for columns; zero outside
    the image), then one matmul over the N*H*W pixels for all nine taps. This is the
    plain path's filter gradient with the sums over each 2x2 block taken first: 9
    multiply-adds per input pixel and channel pair, where the four phases' 2x2 filter
    gradients take 16 and the plain conv on the upsampled map 36. Computed in x's
    dtype.

    `tap_sums` is how the nine V_ab are formed: "depthwise" (one depthwise convolution
    with fixed 0/1 windows, `_TAP_WINDOWS`; the sums rounded once) or "pooled"
    (`tap_means` of dy: average pools and slices, rounded after each pair). None picks
    the faster on this project's CPU (bench/rewrite_forms.py): "pooled" for bfloat16,
    "depthwise" otherwise.
    """
    c, f = x.shape[-1], dy.shape[-1]
    if tap_sums is None:
        tap_sums = "pooled" if dy.dtype == "bfloat16" else "depthwise"
    if tap_sums == "depthwise":
        windows = ops.convert_to_tensor(np.tile(_TAP_WINDOWS, (1, 1, f, 1)), dy.dtype)
        v = ops.depthwise_conv(dy, windows, strides=2, padding="same")  # [N, H, W, (F, 9)]
        g = ops.matmul(ops.transpose(ops.reshape(x, (-1, c))), ops.reshape(v, (-1, f * 9)))
        return ops.transpose(ops.reshape(g, (c, f, 3, 3)), (2, 3, 0, 1))
    if tap_sums != "pooled":
        raise ValueError("`tap_sums` must be one of None, 'depthwise', 'pooled'. "
                         f"Received: tap_sums={tap_sums}")
    v = tap_means(dy, flipped=True)  # [N, H, W, (9, F)]: V_ab / 4
    g = ops.matmul(ops.transpose(ops.reshape(x, (-1, c))), ops.reshape(v, (-1, 9 * f)))
    return ops.transpose(ops.reshape(g, (c, 3, 3, f)), (1, 2, 0, 3)) * 4


_KERNEL_GRADIENT = with_kernel_gradient(kernel_gradient)


def _phases(x, kernel):
    """The four 2x2 convolutions of `upsample_conv3x3`, interleaved."""
    h, w, f = x.shape[1], x.shape[2], kernel.shape[3]
    k = _phase_kernel_list(kernel)
    rows = []
    for r in range(2):
        cols = []
        for s in range(2):
            xp = ops.pad(x, [[0, 0], [1 - r, r], [1 - s, s], [0, 0]])
            cols.append(ops.conv(xp, ops.cast(k[r][s], x.dtype), strides=1, padding="valid"))
        rows.append(ops.stack(cols, axis=3))  # [N, H, W, 2 (s), F]
    y = ops.stack(rows, axis=2)  # [N, H, 2 (r), W, 2 (s), F]
    n = ops.shape(x)[0]
    h = ops.shape(x)[1] if h is None else h
    w = ops.shape(x)[2] if w is None else w
    return ops.reshape(y, (n, 2 * h, 2 * w, f))

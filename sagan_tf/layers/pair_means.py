"""Means of 2x2 blocks of pixels at both parities, for the rewrites' kernel gradients."""

from keras import ops


def pair_means(t):
    """{"OO", "OE", "EO", "EE"}: 2x2 means of NHWC `t` [N, H, W, C] (H, W even or odd).

    The first letter pairs rows, the second columns. "O" pairs rows 2i and 2i + 1 of
    t (i = 0 .. floor(H / 2) - 1); "E" pairs rows 2k - 1 and 2k of t with a zero row
    on each side (k = 0 .. floor(H / 2)): average pools of 2x1 then 1x2 windows. In
    t's dtype, rounded after each of the two pools; each pool halves exactly, so 4 x
    a mean is the sum to that rounding.
    """
    rows = {"O": ops.average_pool(t, (2, 1), (2, 1), "valid"),
            "E": ops.average_pool(_pad(t, 1, 0), (2, 1), (2, 1), "valid")}
    means = {}
    for r, u in rows.items():
        means[r + "O"] = ops.average_pool(u, (1, 2), (1, 2), "valid")
        means[r + "E"] = ops.average_pool(_pad(u, 0, 1), (1, 2), (1, 2), "valid")
    return means


def _pad(t, rows, cols):
    return ops.pad(t, [[0, 0], [rows, rows], [cols, cols], [0, 0]])

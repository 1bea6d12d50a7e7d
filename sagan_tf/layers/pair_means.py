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


def tap_means(t, flipped=False):
    """The nine 2x2 means of `pair_means(t)` that a 3x3 kernel's taps (a, b) read,
    concatenated in tap order: [N, H', W', (9, C)] with H' = floor(H / 2).

    Tap a = 1 takes the "O" pairs (rows 2i, 2i + 1). Tap 0 takes the "E" pairs k =
    0..H' - 1 (rows 2i - 1, 2i) and tap 2 the pairs k = 1..H' (rows 2i + 1, 2i + 2):
    the input blocks a pooled 3x3 conv reads (D's strided form). `flipped` swaps taps 0
    and 2: the output-gradient blocks a 3x3 tap sends back to one input pixel of an
    upsampled conv (G's sub-pixel form). The same for columns and b.
    """
    means = pair_means(t)
    kind = ("E", "O", "E")
    cut = (slice(None, -1), slice(None), slice(1, None))
    if flipped:
        cut = cut[::-1]
    return ops.concatenate([means[kind[a] + kind[b]][:, cut[a], cut[b], :]
                            for a in range(3) for b in range(3)], axis=-1)


def _pad(t, rows, cols):
    return ops.pad(t, [[0, 0], [rows, rows], [cols, cols], [0, 0]])

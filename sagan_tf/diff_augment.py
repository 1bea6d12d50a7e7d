"""`DiffAugment`: differentiable augmentation of every image the discriminator sees.

Zhao et al., "Differentiable Augmentation for Data-Efficient GAN Training" (2020):
the same random transform family T is applied to real and generated images, in D's
update and in G's update, and T is differentiable, so G's gradient flows through it:

    L_D = E[relu(1 - D(T(x), y))] + E[relu(1 + D(T(G(z)), y))]
    L_G = -E[D(T(G(z)), y)]

Each transform is drawn per example. The policies (any subset, applied in this order):

- `color`: brightness x + (b - 0.5), then saturation (x - mean_c x) * 2s + mean_c x
  (mean over the channels), then contrast (x - mean x) * (c + 0.5) + mean x (mean
  over the whole image); b, s, c ~ U[0, 1).
- `translation`: a shift of (dy, dx), each an integer uniform in [-r, r] with
  r = size // 8, zero padding: out[i, j] = x[i + dy, j + dx] (0 outside the image).
- `cutout`: one square of side size // 2 set to 0. Its centre row and column are
  integers uniform in [0, size] (the authors' code, `cutout_inside=False`), so near
  the border part of the square lies outside the image and less is cut out;
  `cutout_inside=True` keeps the square wholly inside the image (a reading of the
  paper's "masks with a random square of half image size"), a named deviation from
  the authors' code.

The ranges are those of the authors' `DiffAugment_tf.py` (images in [-1, 1]). The
random numbers are given, not drawn here: `uniforms(seed, stream, num)` draws a
[num, NUM_UNIFORMS] float32 table from a stateless stream (`SAGAN` keys it on the
training step with `sagan_tf.noise.augmentation_stream`, so a resumed run augments
exactly as an uninterrupted one), one row per example, and every policy reads its
own columns whatever the others, so adding `cutout` does not change the colour draws.
"""

import logging

import tensorflow as tf

#: The policies, in the order they are applied.
POLICIES = ("color", "translation", "cutout")
#: Columns of the uniform table, one row per example.
BRIGHTNESS, SATURATION, CONTRAST, SHIFT_X, SHIFT_Y, CUTOUT_X, CUTOUT_Y = range(7)
NUM_UNIFORMS = 7
#: Translation range and cutout size as fractions of the image size (the paper's).
TRANSLATION_RATIO = 1 / 8
CUTOUT_RATIO = 1 / 2


def parse_policy(policy):
    """`policy` as a tuple of policy names in `POLICIES` order (a warning says so when
    they were given in another order; a repeated name is refused).

    Args:
        policy: a comma-separated string ("color,translation"; "" for none) or a
            sequence of names.

    Raises:
        ValueError: for a name outside `POLICIES`, or one given twice.
    """
    names = policy.split(",") if isinstance(policy, str) else list(policy or ())
    names = [str(n).strip() for n in names if str(n).strip()]
    unknown = [n for n in names if n not in POLICIES]
    if unknown:
        raise ValueError(f"`diffaugment` must name policies among {list(POLICIES)}. "
                         f"Received: diffaugment={policy!r} (unknown: {unknown})")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f"`diffaugment` must name each policy once. Received: "
                         f"diffaugment={policy!r} (repeated: {repeated})")
    ordered = tuple(p for p in POLICIES if p in names)
    if list(ordered) != names:
        logging.warning("DiffAugment applies its policies in the order %s, not as given "
                        "(%s).", ",".join(ordered), ",".join(names))
    return ordered


def uniforms(seed, stream, num):
    """The [num, NUM_UNIFORMS] float32 table U[0, 1) of (seed, stream), one row per
    example (Philox fills it row by row: the first rows of a larger table are those
    of a smaller one)."""
    return tf.random.stateless_uniform(
        tf.stack([tf.cast(num, tf.int32), NUM_UNIFORMS]),
        seed=tf.stack([tf.cast(seed, tf.int64), tf.cast(stream, tf.int64)]),
        dtype=tf.float32)


def uniform_int(u, low, high):
    """Integers uniform in [low, high] from u ~ U[0, 1): low + floor(u * (high - low + 1)),
    kept <= high where float32 rounding would reach high + 1."""
    count = high - low + 1
    return low + tf.minimum(tf.cast(tf.floor(u * float(count)), tf.int32), count - 1)


def _column(u, j, dtype):
    return tf.cast(u[:, j], dtype)[:, None, None, None]


def brightness(x, u):
    """x + (b - 0.5) per example, b = u[:, BRIGHTNESS]."""
    return x + (_column(u, BRIGHTNESS, x.dtype) - 0.5)


def saturation(x, u):
    """(x - mean_c) * 2s + mean_c per example, mean over the channels, s = u[:, SATURATION]."""
    mean = tf.reduce_mean(x, axis=3, keepdims=True)
    return (x - mean) * (_column(u, SATURATION, x.dtype) * 2.0) + mean


def contrast(x, u):
    """(x - mean) * (c + 0.5) + mean per example, mean over the image, c = u[:, CONTRAST]."""
    mean = tf.reduce_mean(x, axis=[1, 2, 3], keepdims=True)
    return (x - mean) * (_column(u, CONTRAST, x.dtype) + 0.5) + mean


def translation(x, u):
    """out[i, j] = x[i + dy, j + dx], 0 outside; dy, dx uniform in [-r, r], r = size // 8."""
    height, width = x.shape[1], x.shape[2]
    ry, rx = int(height * TRANSLATION_RATIO), int(width * TRANSLATION_RATIO)
    dy = uniform_int(u[:, SHIFT_Y], -ry, ry)
    dx = uniform_int(u[:, SHIFT_X], -rx, rx)
    padded = tf.pad(x, [[0, 0], [ry, ry], [rx, rx], [0, 0]])
    rows = tf.range(height)[None, :] + (dy + ry)[:, None]  # [N, H] into the padded rows
    cols = tf.range(width)[None, :] + (dx + rx)[:, None]
    out = tf.gather(padded, rows, axis=1, batch_dims=1)
    return tf.gather(out, cols, axis=2, batch_dims=1)


def cutout_mask(u, height, width, inside=False, dtype=tf.float32):
    """[N, H, W, 1]: 0 on the cut-out square, 1 elsewhere (see the module docstring)."""
    size_y, size_x = int(height * CUTOUT_RATIO), int(width * CUTOUT_RATIO)
    if inside:
        top = uniform_int(u[:, CUTOUT_Y], 0, height - size_y)
        left = uniform_int(u[:, CUTOUT_X], 0, width - size_x)
    else:  # centre uniform in [0, size] (the authors' offset, for an even side)
        top = uniform_int(u[:, CUTOUT_Y], 0, height - (size_y % 2)) - size_y // 2
        left = uniform_int(u[:, CUTOUT_X], 0, width - (size_x % 2)) - size_x // 2
    i = tf.range(height)[None, :]
    j = tf.range(width)[None, :]
    in_rows = (i >= top[:, None]) & (i < (top + size_y)[:, None])  # [N, H]
    in_cols = (j >= left[:, None]) & (j < (left + size_x)[:, None])  # [N, W]
    cut = in_rows[:, :, None] & in_cols[:, None, :]
    return tf.cast(~cut, dtype)[..., None]


def cutout(x, u, inside=False):
    """x with one square of side size // 2 set to 0 (see `cutout_mask`)."""
    return x * cutout_mask(u, x.shape[1], x.shape[2], inside, x.dtype)


class DiffAugment:
    """The transform T of DiffAugment (Zhao et al., 2020); see the module docstring.

    `T(x, u)` with u the [N, NUM_UNIFORMS] table of `uniforms`: differentiable in x
    (a gather, sums and products), in the dtype of x (float16 under mixed precision).

    Args:
        policy: the policies, a comma-separated string or a sequence of names among
            `POLICIES` (applied in `POLICIES` order whatever the order given).
        cutout_inside: keep the cut-out square inside the image (default False: the
            authors' code, whose square may be clipped by the border).
    """

    def __init__(self, policy, cutout_inside=False):
        self.policy = parse_policy(policy)
        self.cutout_inside = bool(cutout_inside)

    def __bool__(self):
        return bool(self.policy)

    def __call__(self, x, u):
        if "color" in self.policy:
            x = contrast(saturation(brightness(x, u), u), u)
        if "translation" in self.policy:
            x = translation(x, u)
        if "cutout" in self.policy:
            x = cutout(x, u, self.cutout_inside)
        return x

    def get_config(self):
        return {"policy": list(self.policy), "cutout_inside": self.cutout_inside}

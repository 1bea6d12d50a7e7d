"""k-nearest-neighbour balls of activation sets, computed block by block.

The manifold metrics (`precision_recall`, `density_coverage`) describe each set of
activations by balls: around every sample, the ball whose radius is the distance to its
k-th nearest neighbour in the same set (the sample itself excluded). Both passes here
(the radii, and which balls hold which points) take the pairwise distances
`block_rows` rows at a time, so memory stays at about `block_rows * N` float64 values
(`DEFAULT_BLOCK_ELEMENTS`, 128 MiB) for sets of any size, 50,000 x 50,000 included. The
distances are Euclidean, in float64, through TensorFlow (a GPU when one is visible).
"""

import numpy as np
import tensorflow as tf

from sagan_tf.metrics.scores import as_2d_float64

# Pairwise distances held at once: 2**24 float64 values (128 MiB).
DEFAULT_BLOCK_ELEMENTS = 2 ** 24


def as_activations(value, name):
    """`value` as a float64 `[N, D]` array of finite numbers with N >= 2."""
    return as_2d_float64(value, name, min_samples=2)


def check_k(k, num_samples, name="k"):
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={k!r}")
    if k >= num_samples:
        raise ValueError(f"`{name}` must be smaller than the number of samples "
                         f"({num_samples}). Received: {name}={k}")


def _rows_per_block(num_columns, block_elements):
    return max(1, int(block_elements or DEFAULT_BLOCK_ELEMENTS) // max(1, num_columns))


def _squared_distances(rows, columns, column_norms):
    """`[b, N]` squared Euclidean distances, clipped at 0 (rounding of the expansion)."""
    row_norms = tf.reduce_sum(tf.square(rows), axis=1, keepdims=True)
    products = tf.matmul(rows, columns, transpose_b=True)
    return tf.maximum(row_norms - 2.0 * products + column_norms[None, :], 0.0)


def kth_neighbour_radii(activations, ks, block_elements=None):
    """The distance of every sample to its k-th nearest neighbour, for each k in `ks`.

    Args:
        activations: `[N, D]` array.
        ks: positive ints below N.
        block_elements: pairwise distances held at once (default
            `DEFAULT_BLOCK_ELEMENTS`).

    Returns:
        `{k: float64 array [N]}`.
    """
    x = as_activations(activations, "activations")
    ks = sorted({int(k) for k in ks})
    for k in ks:
        check_k(k, len(x))
    columns = tf.constant(x)
    norms = tf.reduce_sum(tf.square(columns), axis=1)
    step = _rows_per_block(len(x), block_elements)
    # The k+1 smallest distances of a row hold the sample itself (0) first.
    parts = []
    for start in range(0, len(x), step):
        d2 = _squared_distances(columns[start:start + step], columns, norms)
        smallest = -tf.math.top_k(-d2, k=ks[-1] + 1, sorted=True).values
        parts.append(smallest.numpy())
    smallest = np.sqrt(np.concatenate(parts))
    return {k: smallest[:, k] for k in ks}


def ball_membership(points, centres, radii, block_elements=None):
    """Which of the balls `B(centres[i], radii[i])` hold which points (`<=`, closed).

    Args:
        points: `[P, D]` array.
        centres: `[C, D]` array.
        radii: `[C]` array.
        block_elements: pairwise distances held at once.

    Returns:
        `(counts, covered)`: int64 `[P]`, the number of balls holding each point, and
        bool `[C]`, whether a ball holds at least one point.
    """
    return ball_memberships(points, centres, [radii], block_elements)[0]


def ball_memberships(points, centres, radii_sets, block_elements=None):
    """`ball_membership` for several radii of the same centres, from one pass over the
    distances: a list of `(counts, covered)`, one per array in `radii_sets`."""
    points = as_activations(points, "points")
    centres = as_activations(centres, "centres")
    radii_sets = [np.asarray(radii, np.float64) for radii in radii_sets]
    for radii in radii_sets:
        if radii.shape != (len(centres),):
            raise ValueError(f"`radii` must have one value per centre ([{len(centres)}]). "
                             f"Received: shape={radii.shape}")
    if points.shape[1] != centres.shape[1]:
        raise ValueError("`points` and `centres` must have the same number of features. "
                         f"Received: points.shape={points.shape}, "
                         f"centres.shape={centres.shape}")
    columns = tf.constant(centres)
    norms = tf.reduce_sum(tf.square(columns), axis=1)
    radii2 = [tf.constant(np.square(radii)) for radii in radii_sets]
    step = _rows_per_block(len(centres), block_elements)
    counts = [[] for _ in radii_sets]
    covered = [np.zeros(len(centres), bool) for _ in radii_sets]
    for start in range(0, len(points), step):
        d2 = _squared_distances(tf.constant(points[start:start + step]), columns, norms)
        for i, r2 in enumerate(radii2):
            inside = d2 <= r2[None, :]
            counts[i].append(tf.reduce_sum(tf.cast(inside, tf.int64), axis=1).numpy())
            covered[i] |= tf.reduce_any(inside, axis=0).numpy()
    return [(np.concatenate(c), v) for c, v in zip(counts, covered)]

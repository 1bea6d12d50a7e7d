"""Improved precision and recall of a generative model (Kynkaanniemi et al. 2019).

Each set of activations (real `X`, generated `Y`) estimates its manifold as the union
of balls around its samples, the ball of a sample reaching its k-th nearest neighbour in
the same set (k = 3 in the paper):

    precision = 1/M sum_j 1[Y_j in manifold(X)]     (generated samples that look real)
    recall    = 1/N sum_i 1[X_i in manifold(Y)]     (real samples the generator covers)

with `f in manifold(X)` iff `||f - X_i|| <= NND_k(X_i)` for some i (the paper's closed
balls). The distances are computed block by block (`sagan_tf.metrics.neighbourhoods`),
so 50,000 x 50,000 comparisons fit in bounded memory.
"""

from sagan_tf.metrics import neighbourhoods

# The paper's k.
DEFAULT_K = 3


def precision_recall(real_activations, fake_activations, k=DEFAULT_K,
                     block_elements=None):
    """Improved precision and recall of `fake_activations` against `real_activations`.

    Args:
        real_activations: `[N, D]` array.
        fake_activations: `[M, D]` array.
        k: the nearest neighbour whose distance is a ball's radius (3 in the paper).
        block_elements: pairwise distances held at once (see `neighbourhoods`).

    Returns:
        `(precision, recall)`, Python floats in [0, 1].
    """
    real = neighbourhoods.as_activations(real_activations, "real_activations")
    fake = neighbourhoods.as_activations(fake_activations, "fake_activations")
    neighbourhoods.check_k(k, min(len(real), len(fake)))
    real_radii = neighbourhoods.kth_neighbour_radii(real, [k], block_elements)[k]
    fake_radii = neighbourhoods.kth_neighbour_radii(fake, [k], block_elements)[k]
    return precision_recall_from_radii(real, real_radii, fake, fake_radii, block_elements)


def precision_recall_from_radii(real, real_radii, fake, fake_radii, block_elements=None):
    """`precision_recall` with the k-th neighbour radii already computed."""
    in_real, _ = neighbourhoods.ball_membership(fake, real, real_radii, block_elements)
    in_fake, _ = neighbourhoods.ball_membership(real, fake, fake_radii, block_elements)
    return float((in_real > 0).mean()), float((in_fake > 0).mean())

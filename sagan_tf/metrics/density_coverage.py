"""Density and coverage of a generative model (Naeem et al. 2020).

Only the real activations `X` (N samples) define balls, each reaching the k-th nearest
real neighbour of its centre (k = 5 in the paper); for M generated samples `Y`:

    density  = 1/(k M) sum_j sum_i 1[Y_j in B(X_i, NND_k(X_i))]
    coverage = 1/N sum_i 1[exists j: Y_j in B(X_i, NND_k(X_i))]

Density counts how many real neighbourhoods hold each generated sample (1 on average
when both sets come from one distribution; it can exceed 1); coverage is the fraction of
real neighbourhoods that hold a generated sample. Unlike precision and recall, neither
uses balls around generated samples, so outliers among them weigh less. Closed balls
(`<=`), as in `precision_recall`; computed block by block.
"""

from sagan_tf.metrics import neighbourhoods

# The paper's k.
DEFAULT_K = 5


def density_coverage(real_activations, fake_activations, k=DEFAULT_K, block_elements=None):
    """Density and coverage of `fake_activations` against `real_activations`.

    Args:
        real_activations: `[N, D]` array.
        fake_activations: `[M, D]` array.
        k: the real nearest neighbour whose distance is a ball's radius (5 in the paper).
        block_elements: pairwise distances held at once (see `neighbourhoods`).

    Returns:
        `(density, coverage)`: Python floats, density >= 0, coverage in [0, 1].
    """
    real = neighbourhoods.as_activations(real_activations, "real_activations")
    fake = neighbourhoods.as_activations(fake_activations, "fake_activations")
    neighbourhoods.check_k(k, len(real))
    radii = neighbourhoods.kth_neighbour_radii(real, [k], block_elements)[k]
    return density_coverage_from_radii(real, radii, fake, k, block_elements)


def density_coverage_from_radii(real, real_radii, fake, k, block_elements=None):
    """`density_coverage` with the real k-th neighbour radii already computed."""
    counts, covered = neighbourhoods.ball_membership(fake, real, real_radii, block_elements)
    return float(counts.sum() / (k * len(fake))), float(covered.mean())

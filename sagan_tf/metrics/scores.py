"""Inception Score, FID, KID and intra-FID from precomputed classifier outputs.

Each function takes NumPy arrays (or anything `np.asarray` accepts, such as
`tf.Tensor`s), validates them, and computes the metric with TF-GAN's own evaluation
function in float64, returning Python floats:

| function          | TF-GAN function                                          |
|-------------------|----------------------------------------------------------|
| `inception_score` | `classifier_score_from_logits`                            |
| `inception_score_splits` | `classifier_score_from_logits` per split          |
| `frechet_distance`| `frechet_classifier_distance_from_activations`            |
| `kernel_distance` | `kernel_classifier_distance_and_std_from_activations`     |
| `intra_fid`       | `frechet_classifier_distance_from_activations` per class |

Logits and activations come from `sagan_tf.metrics.compute_activations` (for
Inception: the 1008 `logits` and the 2048 `pool_3` features).
"""

import numpy as np
import tensorflow as tf

from sagan_tf.metrics.tfgan_eval import load_tfgan_eval

# TF-GAN's default block size for the KID estimator.
DEFAULT_KID_BLOCK_SIZE = 1024
# Salimans et al.'s Inception Score splits (improved-gan's `get_inception_score`).
DEFAULT_IS_SPLITS = 10


def inception_score(logits):
    """Inception Score `exp(E_x KL(p(y|x) || p(y)))` of a set of samples.

    Computed by TF-GAN's `classifier_score_from_logits` in float64 over all samples
    at once (no splits), as TF-GAN and the SAGAN authors' TF-GAN code do.

    Args:
        logits: array of shape `[num_samples, num_classes]`, the classifier's
            (pre-softmax) logits for each sample.

    Returns:
        The score, a Python float in `[1, num_classes]`.

    Raises:
        ValueError: if `logits` is not a non-empty 2D array of finite numbers.
    """
    logits = as_2d_float64(logits, "logits", min_samples=1)
    score = load_tfgan_eval().classifier_score_from_logits(tf.constant(logits))
    return float(score)


def inception_score_splits(logits, num_splits=DEFAULT_IS_SPLITS):
    """Inception Score as papers report it: mean and std over `num_splits` splits.

    Salimans et al. (2016, improved-gan's `get_inception_score`): the samples are cut in
    order into `num_splits` parts, part i being rows `[i N // s, (i + 1) N // s)`; each
    part's score `exp(E_x KL(p(y|x) || p(y)))` has its own marginal p(y) (TF-GAN's
    `classifier_score_from_logits` on the part, float64), and the result is the mean and
    the population standard deviation (NumPy's `std`, ddof 0) of the part scores. The
    one-pass `inception_score` is another figure (one marginal over all samples): the
    split mean is usually lower for the same samples, each part's marginal being
    estimated from fewer of them.

    Args:
        logits: array `[num_samples, num_classes]` of pre-softmax logits, in random
            order (the parts follow the rows).
        num_splits: number of parts, at least 1 and at most `num_samples`.

    Returns:
        `(mean, std)`, Python floats.

    Raises:
        ValueError: on malformed logits or a `num_splits` outside [1, num_samples].
    """
    logits = as_2d_float64(logits, "logits", min_samples=1)
    num_splits = int(num_splits)
    if not 1 <= num_splits <= len(logits):
        raise ValueError(f"`num_splits` must be in [1, num_samples] = [1, {len(logits)}]. "
                         f"Received: num_splits={num_splits}")
    score = load_tfgan_eval().classifier_score_from_logits
    n = len(logits)
    parts = [float(score(tf.constant(logits[i * n // num_splits:(i + 1) * n // num_splits])))
             for i in range(num_splits)]
    return float(np.mean(parts)), float(np.std(parts))


def frechet_distance(real_activations, fake_activations):
    """Frechet distance (FID) between Gaussians fitted to two sets of activations.

    `|m_r - m_f|^2 + Tr(C_r + C_f - 2 (C_r C_f)^(1/2))` with sample means `m` and
    unbiased sample covariances `C`, computed by TF-GAN's
    `frechet_classifier_distance_from_activations` in float64. FID is biased for
    small samples: compare values only at equal sample sizes.

    TF-GAN computes `Tr((C_r C_f)^(1/2))` from SVDs of symmetric matrices and
    leaves singular values below 1e-10 un-rooted (a guard against noise in
    rank-deficient covariances, e.g. fewer samples than features). Where such
    values occur, the result is slightly larger (by about 2 sqrt(1e-10) per value)
    than a `scipy.linalg.sqrtm`-based FID; with well-conditioned covariances the
    two agree to float64 precision.

    Args:
        real_activations: array of shape `[num_real, num_features]`.
        fake_activations: array of shape `[num_fake, num_features]`.

    Returns:
        The distance, a Python float (>= 0 up to rounding).

    Raises:
        ValueError: if an input is not a 2D array of finite numbers with at least
            2 samples, or the feature sizes differ.
    """
    real, fake = _as_activation_pair(real_activations, fake_activations)
    return _fid(real, fake)


def frechet_distance_from_moments(real_mean, real_covariance, fake_activations):
    """FID between a Gaussian given by its moments and one fitted to activations.

    The same distance as `frechet_distance`, for real images known only by the mean
    and unbiased covariance of their activations (a reference statistics file, as
    TTUR's `fid_stats_*.npz`). TF-GAN has no public FID-from-moments function, so its
    `frechet_classifier_distance_from_activations` is given `moment_points(mean,
    covariance)`: 2d points whose sample mean and unbiased covariance are exactly the
    given ones (up to rounding). The number is then TF-GAN's, computed as for images.

    Args:
        real_mean: array `[num_features]`.
        real_covariance: array `[num_features, num_features]`, symmetric positive
            semi-definite.
        fake_activations: array `[num_fake, num_features]`.

    Returns:
        The distance, a Python float.
    """
    fake = as_2d_float64(fake_activations, "fake_activations", min_samples=2)
    mean = np.asarray(real_mean, np.float64).reshape(-1)
    covariance = np.asarray(real_covariance, np.float64)
    dim = fake.shape[1]
    if mean.shape != (dim,) or covariance.shape != (dim, dim):
        raise ValueError(
            f"The real moments must describe {dim} features, as the fake activations. "
            f"Received: real_mean.shape={mean.shape}, "
            f"real_covariance.shape={covariance.shape}")
    return _fid(moment_points(mean, covariance), fake)


def moment_points(mean, covariance):
    """`2d` points with sample mean `mean` and unbiased sample covariance `covariance`.

    With `covariance = sum_i l_i v_i v_i^T` (eigendecomposition), the points
    `mean +- a sqrt(l_i) v_i` have mean `mean` and scatter `2 a^2 covariance`, so
    `a^2 = (2d - 1) / 2` gives the unbiased covariance (divided by 2d - 1). Eigenvalues
    below 0 (rounding of a semi-definite matrix) count as 0.
    """
    mean = np.asarray(mean, np.float64)
    covariance = np.asarray(covariance, np.float64)
    covariance = (covariance + covariance.T) / 2.0
    values, vectors = np.linalg.eigh(covariance)
    dim = len(mean)
    half_axes = (vectors * np.sqrt(np.maximum(values, 0.0) * (2 * dim - 1) / 2.0)).T
    return np.concatenate([mean + half_axes, mean - half_axes])


def kernel_distance(real_activations, fake_activations,
                    max_block_size=DEFAULT_KID_BLOCK_SIZE):
    """Kernel distance (KID) between two sets of activations, and its standard error.

    The unbiased estimate of the squared MMD with the polynomial kernel
    `k(x, y) = (x.y / d + 1)^3`, computed by TF-GAN's
    `kernel_classifier_distance_and_std_from_activations` in float64. TF-GAN splits
    both sets into `ceil(max(num_real, num_fake) / max_block_size)` blocks of nearly
    equal size (in the given order), averages the per-block estimates and reports
    the standard error of that mean. With a single block (both sets no larger than
    `max_block_size`) the estimate is the plain unbiased MMD^2 over all samples and
    the standard error is undefined (NaN). The blocks follow the input order, so the
    inputs must be in random order (not sorted by class).

    Args:
        real_activations: array of shape `[num_real, num_features]`.
        fake_activations: array of shape `[num_fake, num_features]`.
        max_block_size: largest block size, TF-GAN's default 1024.

    Returns:
        Tuple `(kid, kid_std)` of Python floats; `kid_std` is NaN with one block.

    Raises:
        ValueError: if an input is not a 2D array of finite numbers, the feature
            sizes differ, or a block would have fewer than 2 samples of either set.
    """
    real, fake = _as_activation_pair(real_activations, fake_activations)
    max_block_size = int(max_block_size)
    if max_block_size < 2:
        raise ValueError("`max_block_size` must be at least 2. "
                         f"Received: max_block_size={max_block_size}")
    num_blocks = -(-max(len(real), len(fake)) // max_block_size)
    if min(len(real), len(fake)) // num_blocks < 2:
        raise ValueError(
            f"KID splits the samples into {num_blocks} blocks (max_block_size="
            f"{max_block_size}), which leaves fewer than 2 samples of the smaller set "
            "in a block. Pass a larger `max_block_size` or more samples. Received: "
            f"num_real={len(real)}, num_fake={len(fake)}")
    kid, std = load_tfgan_eval().kernel_classifier_distance_and_std_from_activations(
        tf.constant(real), tf.constant(fake), max_block_size=max_block_size,
        dtype=tf.float64)
    return float(kid), float(std)


def intra_fid(real_activations, real_labels, fake_activations, fake_labels,
              num_classes):
    """Intra-FID: the mean over classes of the FID between same-class samples.

    For each class `c`, the FID (see `frechet_distance`) between the real samples
    labelled `c` and the fake samples generated for class `c`; the result is the
    mean of these per-class distances (Miyato & Koyama 2018, used in the SAGAN
    paper's baselines).

    Args:
        real_activations: array of shape `[num_real, num_features]`.
        real_labels: integer array of shape `[num_real]`, values in
            `[0, num_classes)`.
        fake_activations: array of shape `[num_fake, num_features]`.
        fake_labels: integer array of shape `[num_fake]`, the class each fake sample
            was generated for.
        num_classes: number of classes; every class needs at least 2 real and 2
            fake samples.

    Returns:
        Tuple `(mean_fid, per_class_fid)`: a Python float and a list of
        `num_classes` Python floats (index = class).

    Raises:
        ValueError: on malformed inputs, labels outside `[0, num_classes)`, or a
            class with fewer than 2 real or fake samples.
    """
    real, fake = _as_activation_pair(real_activations, fake_activations)
    num_classes = int(num_classes)
    if num_classes < 1:
        raise ValueError("`num_classes` must be positive. "
                         f"Received: num_classes={num_classes}")
    real_labels = _as_labels(real_labels, "real_labels", len(real), num_classes)
    fake_labels = _as_labels(fake_labels, "fake_labels", len(fake), num_classes)
    real_counts = np.bincount(real_labels, minlength=num_classes)
    fake_counts = np.bincount(fake_labels, minlength=num_classes)
    for name, counts in (("real", real_counts), ("fake", fake_counts)):
        short = np.flatnonzero(counts < 2)
        if short.size:
            detail = ", ".join(f"class {c}: {counts[c]}" for c in short[:10])
            raise ValueError(
                f"Intra-FID needs at least 2 {name} samples in every class; "
                f"{short.size} of {num_classes} classes have fewer ({detail}"
                f"{', ...' if short.size > 10 else ''}).")
    per_class = [_fid(real[real_labels == c], fake[fake_labels == c])
                 for c in range(num_classes)]
    return float(np.mean(per_class)), per_class


def _fid(real, fake):
    fid = load_tfgan_eval().frechet_classifier_distance_from_activations(
        tf.constant(real), tf.constant(fake))
    return float(fid)


def as_2d_float64(value, name, min_samples):
    """`value` as a float64 `[N, D]` array of finite real numbers, N >= `min_samples`,
    D >= 1; a ValueError naming `name` and the problem otherwise."""
    array = np.asarray(value)
    if array.ndim != 2:
        raise ValueError(f"`{name}` must be a 2D array [num_samples, num_features]. "
                         f"Received: shape={array.shape}")
    if not (np.issubdtype(array.dtype, np.floating)
            or np.issubdtype(array.dtype, np.integer)):
        raise ValueError(f"`{name}` must hold real numbers. "
                         f"Received: dtype={array.dtype}")
    if array.shape[0] < min_samples:
        raise ValueError(f"`{name}` must have at least {min_samples} "
                         f"sample{'s' if min_samples > 1 else ''}. "
                         f"Received: shape={array.shape}")
    if array.shape[1] < 1:
        raise ValueError(f"`{name}` must have at least 1 feature. "
                         f"Received: shape={array.shape}")
    array = array.astype(np.float64)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"`{name}` contains NaN or infinite values.")
    return array


def _as_activation_pair(real_activations, fake_activations):
    real = as_2d_float64(real_activations, "real_activations", min_samples=2)
    fake = as_2d_float64(fake_activations, "fake_activations", min_samples=2)
    if real.shape[1] != fake.shape[1]:
        raise ValueError(
            "`real_activations` and `fake_activations` must have the same number of "
            f"features. Received: real_activations.shape={real.shape}, "
            f"fake_activations.shape={fake.shape}")
    return real, fake


def _as_labels(value, name, num_samples, num_classes):
    labels = np.asarray(value)
    if labels.ndim != 1 or labels.shape[0] != num_samples:
        raise ValueError(f"`{name}` must be a 1D array with one label per sample "
                         f"([{num_samples}]). Received: shape={labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"`{name}` must hold integer class ids. "
                         f"Received: dtype={labels.dtype}")
    if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
        raise ValueError(
            f"`{name}` must be in [0, num_classes) = [0, {num_classes}). Received: "
            f"min={labels.min()}, max={labels.max()}")
    return labels.astype(np.int64)

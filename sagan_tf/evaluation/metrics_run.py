"""End-to-end evaluation of a class-conditional generator against real data."""

import logging
import math

import numpy as np

from sagan_tf.metrics import neighbourhoods
from sagan_tf.metrics import scores
from sagan_tf.metrics.density_coverage import DEFAULT_K as DENSITY_K
from sagan_tf.metrics.precision_recall import DEFAULT_K as PRECISION_K
from sagan_tf.metrics.streaming import compute_activations
from sagan_tf.metrics.streaming import generate_activations

logger = logging.getLogger(__name__)

METRIC_NAMES = ("inception_score", "inception_score_splits_mean",
                "inception_score_splits_std", "fid", "kid", "kid_std", "intra_fid",
                "class_accuracy", "precision", "recall", "density", "coverage")


def evaluate(generate_fn, real_batches, classifier, num_samples, batch_size,
             num_classes, seed=0, kid_block_size=scores.DEFAULT_KID_BLOCK_SIZE,
             compute_intra_fid=True, progress=True, reference=None,
             compute_manifold=True):
    """Inception Score, FID, KID, intra-FID and class accuracy of a generator.

    Precision and recall (`sagan_tf.metrics.precision_recall`, k = 3) and density and
    coverage (`sagan_tf.metrics.density_coverage`, k = 5) read the same activations.

    Real images are streamed from `real_batches` (the first `num_samples`), or come as
    reference statistics (`reference`, then `real_batches` is not read);
    `num_samples` fake images are generated class-balanced, `batch_size` at a
    time, through `generate_fn`. Only classifier outputs are kept in memory.

    The fake labels are `arange(num_samples) % num_classes` in a random order
    drawn from `seed` (so every class gets `num_samples // num_classes` or one
    more samples). For KID, whose block estimator assumes random order, the real
    activations are shuffled with the same seed. The noise `generate_fn` draws is
    its own business: seed it for reproducible numbers.

    Args:
        generate_fn: callable `generate_fn(labels)` taking int32 labels `[B]` and
            returning float32 images `[B, H, W, 3]` in [-1, 1].
        real_batches: iterable of `(images, labels)` batches (or images only, or
            dicts with "image"/"label"; see `compute_activations`).
        classifier: a `sagan_tf.metrics.Classifier`.
        num_samples: number of real and of fake images (at least 2).
        batch_size: images per `generate_fn` call.
        num_classes: number of classes of the data set; None for an unconditional
            generator (its fake labels are all 0; no intra-FID, no class accuracy).
        seed: seed for the fake labels' order and the real activations' shuffle.
        kid_block_size: TF-GAN's `max_block_size` for KID.
        compute_intra_fid: compute intra-FID (one FID per class, slow for 1000
            classes with 2048 features).
        progress: show progress bars.
        reference: a `sagan_tf.evaluation.ReferenceStats` standing for the real
            images: FID from its moments; KID, intra-FID and the manifold metrics
            from its stored activations (and labels), `None` when it has none (a
            TTUR file).
        compute_manifold: compute precision, recall, density and coverage.

    Returns:
        A dict of JSON-serialisable values (Python floats, or `None`):
        - `"inception_score"`: of the fake images, in one pass (TF-GAN's);
        - `"inception_score_splits_mean"`, `"inception_score_splits_std"`: the
          Inception Score as papers report it, mean and std over
          `scores.DEFAULT_IS_SPLITS` splits (Salimans et al.;
          `scores.inception_score_splits`); `None` with fewer samples than splits;
        - `"fid"`: between real and fake activations;
        - `"kid"`, `"kid_std"`: KID and its standard error (`None` when all
          samples fit in one KID block, where TF-GAN's standard error is NaN);
        - `"intra_fid"`: mean per-class FID, `None` if not computed, if the real
          batches carry no labels, or a class has fewer than 2 real or fake
          samples (logged);
        - `"warnings"`: texts about the numbers, e.g. a rank-deficient FID
          covariance (fewer images than features);
        - `"class_accuracy"`: fraction of fake images the classifier assigns to
          the class they were generated for; `None` unless the classifier has
          `num_classes` classes (as a domain classifier has);
        - `"precision"`, `"recall"`, `"density"`, `"coverage"`: `None` if not
          computed (or fewer than 6 real or fake samples).

    Raises:
        ValueError: on invalid arguments.
    """
    num_samples = int(num_samples)
    if num_samples < 2:
        raise ValueError("`num_samples` must be at least 2. "
                         f"Received: num_samples={num_samples}")
    unconditional = num_classes is None
    num_classes = 1 if unconditional else int(num_classes)
    if num_classes < 1:
        raise ValueError("`num_classes` must be positive. "
                         f"Received: num_classes={num_classes}")
    rng = np.random.default_rng(seed)

    if reference is None:
        _, real_activations, real_labels = compute_activations(
            classifier, real_batches, num_samples=num_samples, progress=progress)
        num_real = len(real_activations)
    else:
        real_activations, real_labels = reference.activations, reference.labels
        num_real = reference.num_images
    if reference is None and num_real < num_samples:
        logger.warning("Only %d real images available; FID and KID compare %d real "
                       "with %d fake images.", num_real, num_real, num_samples)

    fake_labels = rng.permutation(np.arange(num_samples) % num_classes)
    fake_logits, fake_activations, _ = generate_activations(
        generate_fn, fake_labels, classifier, batch_size, progress=progress)

    results = dict.fromkeys(METRIC_NAMES)
    results["warnings"] = _rank_warnings(num_real, fake_activations)
    results["inception_score"] = scores.inception_score(fake_logits)
    if len(fake_logits) >= scores.DEFAULT_IS_SPLITS:
        (results["inception_score_splits_mean"],
         results["inception_score_splits_std"]) = scores.inception_score_splits(fake_logits)
    if reference is None:
        results["fid"] = scores.frechet_distance(real_activations, fake_activations)
    else:
        results["fid"] = scores.frechet_distance_from_moments(
            reference.mean, reference.covariance, fake_activations)
    if real_activations is None:  # a reference of moments only (TTUR): FID alone
        real_labels = None
    else:
        kid, kid_std = scores.kernel_distance(
            real_activations[rng.permutation(len(real_activations))], fake_activations,
            max_block_size=kid_block_size)
        results["kid"] = kid
        results["kid_std"] = kid_std if math.isfinite(kid_std) else None
        if compute_manifold and min(len(real_activations),
                                    len(fake_activations)) > DENSITY_K:
            results.update(manifold_metrics(real_activations, fake_activations))

    if compute_intra_fid and real_labels is not None and not unconditional:
        real_counts = np.bincount(real_labels[real_labels >= 0],
                                  minlength=num_classes)[:num_classes]
        fake_counts = np.bincount(fake_labels, minlength=num_classes)
        if min(real_counts.min(), fake_counts.min()) < 2:
            logger.warning(
                "Intra-FID not computed: it needs at least 2 real and 2 fake samples "
                "per class; the smallest class has %d real and %d fake samples with "
                "num_samples=%d.", real_counts.min(), fake_counts.min(), num_samples)
        else:
            results["intra_fid"], _ = scores.intra_fid(
                real_activations, real_labels, fake_activations, fake_labels,
                num_classes)
    if not unconditional and getattr(classifier, "num_classes", None) == num_classes:
        predicted = np.argmax(fake_logits, axis=-1)
        results["class_accuracy"] = float(np.mean(predicted == fake_labels))
    return results


def manifold_metrics(real_activations, fake_activations):
    """Precision, recall (k = 3), density and coverage (k = 5): the real radii of both k
    from one pass, and the generated samples tested against both from one pass."""
    real = neighbourhoods.as_activations(real_activations, "real_activations")
    fake = neighbourhoods.as_activations(fake_activations, "fake_activations")
    real_radii = neighbourhoods.kth_neighbour_radii(real, (PRECISION_K, DENSITY_K))
    fake_radii = neighbourhoods.kth_neighbour_radii(fake, (PRECISION_K,))[PRECISION_K]
    (in_real, _), (density_counts, covered) = neighbourhoods.ball_memberships(
        fake, real, [real_radii[PRECISION_K], real_radii[DENSITY_K]])
    in_fake, _ = neighbourhoods.ball_membership(real, fake, fake_radii)
    return dict(precision=float((in_real > 0).mean()), recall=float((in_fake > 0).mean()),
                density=float(density_counts.sum() / (DENSITY_K * len(fake))),
                coverage=float(covered.mean()))


def _rank_warnings(num_real, fake_activations):
    """A warning when a covariance of FID is rank-deficient: n images of d features
    give a covariance of rank at most n - 1, so FID needs n > d (2,048 for Inception's
    pool_3); below that it is biased and depends on n much more than usual."""
    warnings = []
    dim = fake_activations.shape[-1]
    for name, count in (("real", num_real), ("generated", len(fake_activations))):
        if count is not None and count <= dim:  # None: a TTUR file's unknown count
            warnings.append(
                f"FID from {count} {name} images of {dim} features: the covariance "
                f"is rank-deficient (it needs more than {dim} images), so this FID is not "
                "comparable with FIDs from more images.")
    for text in warnings:
        logger.warning(text)
    return warnings

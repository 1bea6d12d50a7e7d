"""End-to-end evaluation of a generator against real data: the classifier passes, then
every metric of `sagan_tf.evaluation.metric_table.METRICS`."""

import logging

import numpy as np

from sagan_tf.evaluation import metric_table
from sagan_tf.evaluation.metric_table import METRIC_NAMES, manifold_metrics  # noqa: F401
from sagan_tf.metrics import scores
from sagan_tf.metrics.streaming import compute_activations
from sagan_tf.metrics.streaming import generate_activations

logger = logging.getLogger(__name__)


def evaluate(generate_fn, real_batches, classifier, num_samples, batch_size,
             num_classes, seed=0, kid_block_size=scores.DEFAULT_KID_BLOCK_SIZE,
             compute_intra_fid=True, progress=True, reference=None,
             compute_manifold=True):
    """Every metric of `metric_table.METRICS` of a generator, from one classifier pass
    over the real and one over the generated images.

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
    kept = []
    if metric_table.needs_images():
        def generate(batch_labels, _generate=generate_fn):
            images = _generate(batch_labels)
            kept.append(np.asarray(images, np.float32))
            return images
        generate_fn = generate
    fake_logits, fake_activations, _ = generate_activations(
        generate_fn, fake_labels, classifier, batch_size, progress=progress)
    if real_activations is None:  # a reference of moments only (TTUR): FID alone
        real_labels = None
    measured = metric_table.Measured(
        fake_logits=fake_logits, fake_activations=fake_activations, fake_labels=fake_labels,
        real_activations=real_activations, real_labels=real_labels,
        num_classes=None if unconditional else num_classes, classifier=classifier, rng=rng,
        reference=reference, fake_images=np.concatenate(kept) if kept else None,
        kid_block_size=kid_block_size, intra_fid=compute_intra_fid,
        manifold=compute_manifold, num_samples=num_samples)
    results = metric_table.compute_all(measured)
    results["warnings"] = _rank_warnings(num_real, fake_activations)
    return results


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

"""The metrics of an evaluation, in one table: `METRICS`.

Each row is one figure of `evaluate`'s results: its key (`fid`), its protocol prefix
(`fid` -> `fid50k_train`, `sagan_tf.evaluation.protocols`), what it needs (`NEEDS`: the
classifier's outputs on the generated images, the generated images themselves, real
data) and the function that computes it from a `Measured`. Figures computed together
(KID and its standard error; precision, recall, density and coverage) share their
function, which `evaluate` calls once. Evaluation, protocol names, the JSON of
sagan-eval and `eval.jsonl`, the TensorBoard tags and the log line of `EvalCallback`
(the rows with `shown`) all read this table; docs/evaluation.md describes each row.

To add a metric: a function `f(measured) -> {key: value}` and one row here (see
docs/CONTRIBUTING.md).
"""

import dataclasses
import logging
import math
from typing import Callable

import numpy as np

from sagan_tf.metrics import neighbourhoods, scores
from sagan_tf.metrics.density_coverage import DEFAULT_K as DENSITY_K
from sagan_tf.metrics.precision_recall import DEFAULT_K as PRECISION_K

logger = logging.getLogger(__name__)

#: What a metric reads: the classifier's outputs (logits, activations) on the generated
#: images, the generated images themselves (kept in memory only when a metric needs
#: them), the real data (its activations, or reference statistics).
CLASSIFIER, IMAGES, REAL = "classifier", "images", "real"
NEEDS = (CLASSIFIER, IMAGES, REAL)


@dataclasses.dataclass
class Measured:
    """What the metrics are computed from (None where not available)."""

    fake_logits: np.ndarray
    fake_activations: np.ndarray
    fake_labels: np.ndarray
    real_activations: np.ndarray | None
    real_labels: np.ndarray | None
    num_classes: int | None  # None: an unconditional generator
    classifier: object
    rng: np.random.Generator
    reference: object = None  # a ReferenceStats standing for the real images
    fake_images: np.ndarray | None = None  # only when a metric needs IMAGES
    kid_block_size: int = scores.DEFAULT_KID_BLOCK_SIZE
    intra_fid: bool = True
    manifold: bool = True
    num_samples: int = 0


@dataclasses.dataclass(frozen=True)
class Metric:
    """One figure of an evaluation (see the module docstring)."""

    key: str
    prefix: str
    needs: frozenset
    compute: Callable[[Measured], dict]
    summary: str
    suffix: str = ""
    shown: bool = False  # in EvalCallback's line per evaluation

    @property
    def reads_real(self):
        return REAL in self.needs


def inception_score(m):
    return {"inception_score": scores.inception_score(m.fake_logits)}


def inception_score_splits(m):
    """Mean and std over `scores.DEFAULT_IS_SPLITS` splits, as papers report it; none with
    fewer samples than splits."""
    if len(m.fake_logits) < scores.DEFAULT_IS_SPLITS:
        return {}
    mean, std = scores.inception_score_splits(m.fake_logits)
    return {"inception_score_splits_mean": mean, "inception_score_splits_std": std}


def fid(m):
    if m.reference is None:
        return {"fid": scores.frechet_distance(m.real_activations, m.fake_activations)}
    return {"fid": scores.frechet_distance_from_moments(
        m.reference.mean, m.reference.covariance, m.fake_activations)}


def kid(m):
    if m.real_activations is None:  # a reference of moments only (TTUR): FID alone
        return {}
    value, std = scores.kernel_distance(
        m.real_activations[m.rng.permutation(len(m.real_activations))],
        m.fake_activations, max_block_size=m.kid_block_size)
    return {"kid": value, "kid_std": std if math.isfinite(std) else None}


def intra_fid(m):
    if not m.intra_fid or m.real_labels is None or m.real_activations is None \
            or m.num_classes is None:
        return {}
    real_labels = m.real_labels
    real_counts = np.bincount(real_labels[real_labels >= 0],
                              minlength=m.num_classes)[:m.num_classes]
    fake_counts = np.bincount(m.fake_labels, minlength=m.num_classes)
    if min(real_counts.min(), fake_counts.min()) < 2:
        logger.warning(
            "Intra-FID not computed: it needs at least 2 real and 2 fake samples per "
            "class; the smallest class has %d real and %d fake samples with "
            "num_samples=%d.", real_counts.min(), fake_counts.min(), m.num_samples)
        return {}
    value, _ = scores.intra_fid(m.real_activations, real_labels, m.fake_activations,
                                m.fake_labels, m.num_classes)
    return {"intra_fid": value}


def class_accuracy(m):
    if m.num_classes is None or getattr(m.classifier, "num_classes", None) != m.num_classes:
        return {}
    predicted = np.argmax(m.fake_logits, axis=-1)
    return {"class_accuracy": float(np.mean(predicted == m.fake_labels))}


def manifold(m):
    """Precision, recall (k = 3), density and coverage (k = 5): the real radii of both k
    from one pass, and the generated samples tested against both from one pass."""
    if not m.manifold or m.real_activations is None or min(
            len(m.real_activations), len(m.fake_activations)) <= DENSITY_K:
        return {}
    return manifold_metrics(m.real_activations, m.fake_activations)


def manifold_metrics(real_activations, fake_activations):
    """`manifold` on two activation arrays."""
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


_FAKE = frozenset({CLASSIFIER})
_BOTH = frozenset({CLASSIFIER, REAL})

METRICS = (
    Metric("inception_score", "is", _FAKE, inception_score,
           "Inception Score of the generated images in one pass (TF-GAN's).", shown=True),
    Metric("inception_score_splits_mean", "is", _FAKE, inception_score_splits,
           f"Inception Score as papers report it (Salimans et al. 2016): mean over "
           f"{scores.DEFAULT_IS_SPLITS} splits.", suffix=f"_{scores.DEFAULT_IS_SPLITS}splits"),
    Metric("inception_score_splits_std", "is", _FAKE, inception_score_splits,
           f"Standard deviation of the Inception Score over {scores.DEFAULT_IS_SPLITS} splits.",
           suffix=f"_{scores.DEFAULT_IS_SPLITS}splits_std"),
    Metric("fid", "fid", _BOTH, fid,
           "Frechet distance of the activations (Heusel et al. 2017).", shown=True),
    Metric("kid", "kid", _BOTH, kid,
           "Kernel Inception Distance (Binkowski et al. 2018), TF-GAN's block estimator.",
           shown=True),
    Metric("kid_std", "kid", _BOTH, kid, "Standard error of KID (None: one block).",
           suffix="_std"),
    Metric("intra_fid", "intra_fid", _BOTH, intra_fid,
           "Mean per-class FID (Miyato & Koyama 2018); --nointra_fid skips it."),
    Metric("class_accuracy", "class_accuracy", _FAKE, class_accuracy,
           "Fraction of generated images the classifier assigns to their class (a "
           "classifier of the data's classes: domain)."),
    Metric("precision", "precision", _BOTH, manifold,
           "Precision (Kynkaanniemi et al. 2019, k=3).", shown=True),
    Metric("recall", "recall", _BOTH, manifold,
           "Recall (Kynkaanniemi et al. 2019, k=3).", shown=True),
    Metric("density", "density", _BOTH, manifold, "Density (Naeem et al. 2020, k=5)."),
    Metric("coverage", "coverage", _BOTH, manifold, "Coverage (Naeem et al. 2020, k=5)."),
)

#: The keys of `evaluate`'s results, in table order.
METRIC_NAMES = tuple(m.key for m in METRICS)


def metric(key):
    """The row of `key`; ValueError naming the known keys."""
    for row in METRICS:
        if row.key == key:
            return row
    raise ValueError(f"Unknown metric. Received: {key!r}. Known: {list(METRIC_NAMES)}")


def compute_all(measured, rows=None):
    """`{key: value or None}` of every row (default: `METRICS`), each function called
    once."""
    rows = METRICS if rows is None else rows
    results = dict.fromkeys(row.key for row in rows)
    done = set()
    for row in rows:
        if row.compute not in done:
            done.add(row.compute)
            results.update(row.compute(measured))
    return results


def needs_images(rows=None):
    """Whether a row (default: of `METRICS`) reads the generated images."""
    return any(IMAGES in row.needs for row in (METRICS if rows is None else rows))

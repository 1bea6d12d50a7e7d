"""Reference statistics: a real split's classifier activations, computed once.

A reference file (`.npz`, written by `sagan-fid-stats`, read by `sagan-eval
--reference` and `EvalCallback(reference=...)`) stands for the real images of an
evaluation, so that the classifier does not run over them at every evaluation. It holds

- `mu`, `sigma`: the mean and unbiased covariance (float64) of the activations of all
  `num_images` images, under TTUR's names, so that TTUR-style tools read it;
- `activations` (float32 `[n, d]`) and `labels` (int32 `[n]`, when the data have them):
  those of the first `num_activations` images, for KID, intra-FID, precision/recall and
  density/coverage;
- `protocol`: a JSON text naming what the numbers depend on: the classifier's name and
  the SHA-256 of its weights (`sagan_tf.metrics.classifier.weights_hash`), its input size
  and the resize (bilinear, from the images at `resolution`), the dataset, split, number
  of images and the seed of their order.

A file with only `mu` and `sigma` (TTUR's `fid_stats_*.npz`) is accepted for FID alone:
nothing in it says which classifier made it, so only the feature size is checked.
"""

import dataclasses
import io
import json

import numpy as np
from absl import logging

from sagan_tf import storage
from sagan_tf.evaluation import reference_checks
from sagan_tf.evaluation.generators import EvalError
from sagan_tf.metrics.classifier import weights_hash
from sagan_tf.metrics.streaming import iter_activations

FORMAT = "sagan-tf reference statistics 1"
RESIZE = "bilinear"  # `Classifier.preprocess`
DEFAULT_NUM_ACTIVATIONS = 10000


@dataclasses.dataclass
class ReferenceStats:
    """The real images of an evaluation as statistics (see the module docstring)."""

    mean: np.ndarray
    covariance: np.ndarray
    activations: np.ndarray | None = None
    labels: np.ndarray | None = None
    protocol: dict = dataclasses.field(default_factory=dict)
    path: str | None = None

    @property
    def num_images(self):
        """Images behind `mean` and `covariance` (None for a TTUR file)."""
        return self.protocol.get("num_images")

    @property
    def split(self):
        return self.protocol.get("split")


def compute_reference_stats(classifier, batches, *, dataset, split, resolution,
                            num_images=None, num_activations=DEFAULT_NUM_ACTIVATIONS,
                            seed=0, progress=True):
    """Runs `classifier` over `batches` (the real images at `resolution`) once.

    The mean and covariance are accumulated batch by batch (Chan et al.'s pairwise
    update, in float64), so a split of any size fits in memory; the activations of
    the first `num_activations` images are kept.

    Args:
        classifier: a `sagan_tf.metrics.Classifier`.
        batches: iterable of `(images, labels)` batches or images.
        dataset, split, resolution, seed: recorded in the protocol.
        num_images: stop after this many images (None: all).
        num_activations: activations kept for KID and the manifold metrics.
        progress: show a progress bar.

    Returns:
        A `ReferenceStats`.
    """
    count, mean, scatter = 0, None, None
    kept, kept_labels, has_labels = [], [], False
    for _, activations, labels in iter_activations(classifier, batches, num_images,
                                                   progress):
        batch = activations.astype(np.float64)
        batch_mean = batch.mean(axis=0)
        centred = batch - batch_mean
        batch_scatter = centred.T @ centred
        if mean is None:
            count, mean, scatter = len(batch), batch_mean, batch_scatter
        else:
            total = count + len(batch)
            delta = batch_mean - mean
            scatter = scatter + batch_scatter + np.outer(delta, delta) * (
                count * len(batch) / total)
            mean = mean + delta * (len(batch) / total)
            count = total
        room = num_activations - sum(len(a) for a in kept)
        if room > 0:
            kept.append(activations[:room])
            if labels is not None:
                has_labels = True
                kept_labels.append(labels[:room])
    if count < 2:
        raise EvalError(f"Reference statistics need at least 2 images; the {split} "
                        f"split of {dataset} gave {count}.")
    protocol = dict(
        format=FORMAT, classifier=classifier.name,
        classifier_weights_sha256=weights_hash(classifier),
        input_size=list(classifier.input_size), resize=RESIZE,
        num_features=int(classifier.num_features), dataset=dataset, split=split,
        resolution=int(resolution), num_images=int(count),
        num_activations=int(sum(len(a) for a in kept)), seed=int(seed))
    return ReferenceStats(
        mean=mean, covariance=scatter / (count - 1),
        activations=np.concatenate(kept) if kept else None,
        labels=np.concatenate(kept_labels).astype(np.int32) if has_labels else None,
        protocol=protocol)


def save_reference_stats(path, stats):
    """Writes `stats` to the `.npz` file `path` atomically (`sagan_tf.storage`)."""
    arrays = dict(mu=stats.mean, sigma=stats.covariance,
                  protocol=np.array(json.dumps(stats.protocol, sort_keys=True)))
    if stats.activations is not None:
        arrays["activations"] = stats.activations.astype(np.float32)
    if stats.labels is not None:
        arrays["labels"] = stats.labels.astype(np.int32)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return storage.write_atomically(path, buffer.getvalue())


def load_reference_stats(path):
    """Reads a reference file of `save_reference_stats`, or a TTUR file (`mu`, `sigma`).

    Raises:
        EvalError: if the file is missing, not an `.npz` (or truncated), has no `mu`
            and `sigma`, or fails `reference_checks.check_arrays` (shapes, finite
            values, symmetric `sigma`).
    """
    if not storage.exists(path):
        raise EvalError(f"`--reference={path}`: the file does not exist (write one with "
                        "sagan-fid-stats).")
    arrays = reference_checks.read_npz(path, storage.read_bytes(path))
    missing = [name for name in ("mu", "sigma") if name not in arrays]
    if missing:
        raise EvalError(f"`--reference={path}` has no {missing}: a reference file holds "
                        f"`mu` and `sigma` at least. It holds {sorted(arrays)}.")
    reference_checks.check_arrays(path, arrays)
    protocol = json.loads(str(arrays["protocol"])) if "protocol" in arrays else {}
    return ReferenceStats(
        mean=arrays["mu"].astype(np.float64).reshape(-1),
        covariance=arrays["sigma"].astype(np.float64),
        activations=arrays.get("activations"), labels=arrays.get("labels"),
        protocol=protocol, path=path)


def check_reference(stats, classifier, resolution, dataset=None):
    """Raises `EvalError` naming the mismatch unless `stats` were made with `classifier`
    (name, weights, input size, feature size) from images at `resolution` (and of
    `dataset`, when given)."""
    where = f"The reference statistics {stats.path or ''}".rstrip()
    dim = int(stats.mean.shape[0])
    if dim != classifier.num_features:
        raise EvalError(f"{where} have {dim} features, but classifier "
                        f"'{classifier.name}' gives {classifier.num_features}: they were "
                        "made with another classifier.")
    protocol = stats.protocol
    if not protocol:
        logging.warning("%s name no classifier or resolution (a TTUR-style file): only "
                        "FID is computed, and it is comparable only if they come from "
                        "the same classifier, '%s'.", where, classifier.name)
        return
    checks = [("classifier", protocol.get("classifier"), classifier.name),
              ("classifier weights (SHA-256)", protocol.get("classifier_weights_sha256"),
               weights_hash(classifier)),
              ("classifier input size", protocol.get("input_size"),
               list(classifier.input_size)),
              ("resolution", protocol.get("resolution"), int(resolution)),
              ("dataset", protocol.get("dataset"), dataset)]
    for name, recorded, actual in checks:
        if recorded is not None and actual is not None and recorded != actual:
            raise EvalError(f"{where} were made with {name} {recorded!r}, but this "
                            f"evaluation has {name} {actual!r}: write statistics for it "
                            "with sagan-fid-stats.")

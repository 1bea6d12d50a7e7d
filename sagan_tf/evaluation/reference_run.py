"""`sagan-fid-stats` as a library: `ReferenceSettings` (its flags) and
`write_reference_stats`, which runs the classifier once over a real split and writes a
reference file (`sagan_tf.evaluation.reference_stats`)."""

import dataclasses

from sagan_tf import storage
from sagan_tf.metrics import hub_download
from sagan_tf.evaluation import classifier_choice, real_data, reference_stats
from sagan_tf.evaluation.generators import EvalError
from sagan_tf.data.sources import EVAL_SPLITS_HELP
from sagan_tf.measuring_settings import ClassifierSettings, RealDataSettings
from sagan_tf.settings import setting


@dataclasses.dataclass(frozen=True)
class ReferenceSettings(ClassifierSettings, RealDataSettings):
    """The settings of `sagan-fid-stats`; one flag per field (the classifier and the real
    data: `sagan_tf.measuring_settings`; `--dataset` is required here)."""

    resolution: int | None = setting(
        None, "Resolution the real images are loaded at: the generator's (the classifier "
        "then resizes them, bilinear). Recorded: sagan-eval refuses another.", kind="int")
    output: str | None = setting(None, "The .npz file to write.", kind="str")
    split: str | None = setting(
        None, f"Split of the real images (default: {EVAL_SPLITS_HELP}).", kind="str")
    num_images: int | None = setting(
        None, "Use the first N images of the split (default: all).", kind="int")
    num_activations: int = setting(
        reference_stats.DEFAULT_NUM_ACTIVATIONS, "Activations stored for KID, intra-FID, "
        "precision/recall and density/coverage (the first N images; 0: none, FID only).")

    def __post_init__(self):
        for name in ("dataset", "resolution", "output"):
            if getattr(self, name) in (None, ""):
                raise EvalError(f"`--{name}` is required.")
        for name, least in (("resolution", 1), ("batch_size", 1), ("num_activations", 0),
                            ("domain_epochs", 1)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise EvalError(f"`{name}` must be an integer >= {least}. "
                                f"Received: {name}={value!r}")
        if self.num_images is not None and self.num_images < 2:
            raise EvalError("`num_images` must be at least 2. "
                            f"Received: num_images={self.num_images}")


def write_reference_stats(settings, verbose=1):
    """Computes the reference statistics of `settings` and writes them; returns them."""
    s = settings
    storage.check_writable_file(s.output, "--output")  # before minutes of work
    split = s.split or real_data.default_real_split(s.dataset)
    batches = real_data.real_batches(s.dataset, s.resolution, s.batch_size, split,
                                     s.data_dir, s.seed)
    classifier, _ = classifier_choice.load_eval_classifier(
        s.classifier, dataset=s.dataset, data_dir=s.data_dir, resolution=s.resolution,
        num_classes=_domain_classes(s), domain_classifier_path=s.domain_classifier_path,
        domain_epochs=s.domain_epochs, hub_cache_dir=s.hub_cache_dir,
        offline=s.offline or None, verbose=verbose)
    stats = reference_stats.compute_reference_stats(
        classifier, batches, dataset=s.dataset, split=split, resolution=s.resolution,
        num_images=s.num_images, num_activations=s.num_activations, seed=s.seed,
        progress=s.progress)
    reference_stats.save_reference_stats(s.output, stats)
    return stats


def _domain_classes(s):
    """--num_classes, else (for --classifier=domain) the classes of the data."""
    if s.num_classes or s.classifier != classifier_choice.DOMAIN:
        return s.num_classes
    from sagan_tf.evaluation.evaluator import data_classes  # noqa: PLC0415 (no cycle)
    return data_classes(s.dataset, s.resolution, s.data_dir)

"""An evaluation of a generator, as `sagan-eval` and `EvalCallback` both run it.

`EvalSettings` holds every setting of an evaluation with its default (the flags of
`sagan-eval` are generated from it); `evaluate_source` runs the metrics of a
`GeneratorSource` on given real data and classifier; `run_evaluation` does everything
`sagan-eval` does but printing and writing: it finds the generator (a run directory or
an export), the real images and the classifier, and returns the JSON dict.

Every figure is also reported under its protocol name (`fid50k_train`: 50,000
generated images against the train split; `sagan_tf.evaluation.protocols`). The default
of 50,000 generated images is the literature's (BigGAN, StyleGAN, clean-fid); FID from
fewer is biased upwards and compares only with FIDs from as many. `EvalCallback` uses
the run's smaller `--eval_num_samples`.

The real images are a split of the dataset, or reference statistics written once by
`sagan-fid-stats` (`reference`; `sagan_tf.evaluation.reference_stats`), checked against
the classifier and the generator's resolution.

`num_samples` fake images are generated class-balanced: the labels are `evaluate`'s
(`arange(N) % num_classes` shuffled with the seed) and the i-th image gets row i of
`noise.latents(seed, N, z_dim)`. The real images are the first `num_samples` of the
real split (fewer is allowed, and logged: FID and KID then compare the sets as they
are; `num_real_samples` in the results says how many).
"""

import dataclasses
import math

from sagan_tf import data
from sagan_tf.metrics import hub_download
from sagan_tf.evaluation import classifier_choice, generators, protocols, real_data
from sagan_tf.evaluation import reference_stats
from sagan_tf.evaluation.generators import EvalError
from sagan_tf.evaluation.metrics_run import METRIC_NAMES, evaluate
from sagan_tf.run_dir import RunDir
from sagan_tf.data.sources import EVAL_SPLITS_HELP
from sagan_tf.measuring_settings import ClassifierSettings, RealDataSettings
from sagan_tf.settings import setting


@dataclasses.dataclass(frozen=True)
class EvalSettings(ClassifierSettings, RealDataSettings):
    """The settings of an evaluation; `sagan-eval` has one flag per field (the classifier
    and the real data: `sagan_tf.measuring_settings`)."""

    model_dir: str | None = setting(None, "The --model_dir of a sagan-train run.", kind="str")
    saved_model: str | None = setting(
        None, "A SavedModel written by sagan-export (a version directory, or the export "
        "base: its highest version), evaluated through its serving_default signature "
        "instead of a checkpoint.", kind="str")
    checkpoint: str | None = setting(
        None, "A checkpoint prefix of the run (default: its latest), e.g. "
        "<model_dir>/best_fid/ckpt-N.", kind="str")
    use_ema: bool = setting(True, "Evaluate the EMA generator when the run kept one.")
    standing_stats: int = setting(
        0, "--model_dir: N > 0 evaluates G with standing statistics (BigGAN): its batch "
        "norms use the average batch statistics of N training-mode passes of the run's "
        "--batch_size on fresh noise instead of their moving averages (the same as "
        "sagan-export --standing_stats=N exports). The checkpoint is not changed.")
    num_samples: int = setting(
        50000, "Number of generated (and at most real) images; 50,000 as in the "
        "literature (fid50k_*). FIDs compare only at equal numbers.")
    quantize_generated: bool = setting(
        True, "Quantize the generated images to uint8 (round to nearest) before the "
        "classifier, as real images decoded from files are (StyleGAN, clean-fid), so "
        "that the figures compare with papers'; --noquantize_generated feeds the "
        "generator's float images (the JSON's `generated_images` says which).")
    reference: str | None = setting(
        None, "Reference statistics of the real images (.npz written by sagan-fid-stats, "
        "or a TTUR-style file with mu and sigma: FID only) instead of running the "
        "classifier over the real split; refused if its classifier or resolution differ.",
        kind="str")
    real_split: str | None = setting(
        None, f"Split of the real images (default: {EVAL_SPLITS_HELP}).", kind="str")
    intra_fid: bool = setting(True, "Compute intra-FID (mean per-class FID).")
    precision_recall: bool = setting(
        True, "Compute precision and recall (Kynkaanniemi et al. 2019, k=3) and density "
        "and coverage (Naeem et al. 2020, k=5) on the same activations.")

    def __post_init__(self):
        for name, least in (("num_samples", 2), ("batch_size", 1), ("domain_epochs", 1),
                            ("standing_stats", 0)):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < least:
                raise EvalError(f"`{name}` must be an integer >= {least}. "
                                f"Received: {name}={value!r}")

    def replace(self, **changes):
        return dataclasses.replace(self, **changes)


def evaluate_source(source, real_batches, classifier, settings, num_classes,
                    evaluate_fn=None, reference=None):
    """The metrics of `source` (a `GeneratorSource`) against `real_batches`, or against
    `reference` (a `ReferenceStats`; `real_batches` is then not read).

    `evaluate_fn` (default `sagan_tf.evaluation.evaluate`) is called with
    `evaluate`'s arguments; tests inject their own. Returns its dict of metrics, with
    `generated_images`: how the generated images reached the classifier.
    """
    evaluate_fn = evaluate_fn or evaluate
    generate = generators.generate_fn(source, settings.num_samples, settings.seed,
                                      quantize=settings.quantize_generated)
    extra = {} if reference is None else dict(reference=reference)
    results = evaluate_fn(generate, real_batches, classifier,
                          num_samples=settings.num_samples, batch_size=settings.batch_size,
                          num_classes=num_classes, seed=settings.seed,
                          compute_intra_fid=settings.intra_fid, progress=settings.progress,
                          compute_manifold=settings.precision_recall, **extra)
    return {**results, "generated_images": generated_images(settings)}


def run_evaluation(settings, verbose=1):
    """Everything `sagan-eval` does but printing and writing: returns the JSON dict."""
    s = settings
    if not (s.model_dir or s.saved_model):
        raise EvalError("Pass --model_dir (a sagan-train run) or --saved_model (a "
                        "sagan-export version directory).")
    run = RunDir(s.model_dir) if s.model_dir else None
    config = run.load_config() if run else None
    if s.saved_model and s.standing_stats:
        raise EvalError("--standing_stats needs --model_dir: an export keeps the "
                        "statistics it was exported with (sagan-export --standing_stats=N).")
    if s.saved_model:
        source = generators.from_saved_model(s.saved_model, s.num_classes)
        if source.num_classes is None and config is not None:
            source.num_classes = config.num_classes
    else:
        source = generators.from_run_dir(s.model_dir, use_ema=s.use_ema,
                                         checkpoint=s.checkpoint,
                                         standing_stats=s.standing_stats)
    num_classes = s.num_classes or source.num_classes
    if not source.conditional:  # FID, KID, IS; --num_classes is then the real data's
        num_classes = None
    elif not num_classes:
        raise EvalError("The number of classes is unknown: pass --num_classes.")
    elif config is not None and num_classes != config.num_classes:
        raise EvalError(f"--num_classes={num_classes} but the run in {s.model_dir} has "
                        f"{config.num_classes} classes.")
    # The real data first: a bad split or file fails now, not after a classifier is trained.
    reference = reference_stats.load_reference_stats(s.reference) if s.reference else None
    dataset = (s.dataset or (config.dataset if config else None)
               or (reference.protocol.get("dataset") if reference else None))
    if dataset is None:
        raise EvalError("The dataset of the real images is unknown: pass --dataset.")
    data_dir = s.data_dir or (config.data_dir if config else None)
    real_split = s.real_split or real_data.default_real_split(dataset)
    read = real_data.read_as(config)  # the run's channels and crop
    domain_path = s.domain_classifier_path or (run.domain_classifier if run else None)

    counter = None
    if reference is not None:
        real_split = reference.split or "ref"
    else:
        counter = real_data.CountingBatches(real_data.real_batches(
            dataset, source.resolution, s.batch_size, real_split, data_dir, s.seed, **read))
    classifier_classes = num_classes
    if not source.conditional and s.classifier == classifier_choice.DOMAIN:
        classifier_classes = s.num_classes or data_classes(dataset, source.resolution,
                                                            data_dir, **read)
    classifier, test_accuracy = classifier_choice.load_eval_classifier(
        s.classifier, dataset=dataset, data_dir=data_dir, resolution=source.resolution,
        num_classes=classifier_classes, domain_classifier_path=domain_path,
        domain_epochs=s.domain_epochs, hub_cache_dir=s.hub_cache_dir,
        offline=s.offline or None,  # False: $SAGAN_OFFLINE decides
        verbose=verbose, **read)
    if reference is not None:
        reference_stats.check_reference(reference, classifier, source.resolution, dataset)
    results = evaluate_source(source, counter, classifier, s, num_classes,
                              reference=reference)
    results = protocols.with_protocols(results, s.num_samples, real_split)
    num_real = (reference.num_images if reference is not None
                else min(counter.count, s.num_samples))
    results.update(
        reference=s.reference, num_samples=s.num_samples, num_real_samples=num_real,
        batch_size=s.batch_size, seed=s.seed,
        num_classes=None if num_classes is None else int(num_classes),
        classifier=classifier.name, classifier_flag=s.classifier,
        classifier_test_accuracy=test_accuracy,
        domain_classifier_path=domain_path if s.classifier == classifier_choice.DOMAIN
        else None,
        dataset=dataset, real_split=real_split, resolution=int(source.resolution),
        model_dir=s.model_dir, saved_model=source.saved_model, checkpoint=source.checkpoint,
        checkpoint_step=source.step, use_ema=bool(s.use_ema) if not s.saved_model else None,
        standing_stats=s.standing_stats)
    return results


def generated_images(settings):
    """How the generated images reached the classifier, for the JSON (sagan-eval's,
    eval.jsonl): "uint8" (quantized, as real images) or "float32"
    (`--noquantize_generated`)."""
    return "uint8" if settings.quantize_generated else "float32"


def data_classes(dataset, resolution, data_dir, image_channels=3, crop="center"):
    """The classes of `dataset`, which a domain classifier learns (an unconditional
    generator has none of its own)."""
    _, info = data.load_dataset(dataset, resolution=resolution, global_batch_size=1,
                                data_dir=data_dir, shuffle=False, repeat=False,
                                drop_remainder=False, validate_images=False,
                                image_channels=image_channels, crop=crop)
    if info.num_classes is None:
        raise EvalError(
            f"--classifier=domain learns the classes of the real data, and {dataset!r} has "
            "none. Pass a labelled --dataset with the same kind of images (e.g. the one "
            "the folder was made from), or --classifier=inception or a classifier's path.")
    return info.num_classes


def format_results(results):
    """The metrics as aligned `name: value` lines, each under its protocol name
    (`fid50k_train`) when `results` has them."""
    lines = []
    names = results.get("protocols") or {}
    for metric in METRIC_NAMES + ("classifier_test_accuracy",):
        value = results.get(metric)
        name = names.get(metric, metric)
        text = "n/a" if value is None else (f"{value:.4f}" if isinstance(value, float)
                                            and math.isfinite(value) else str(value))
        lines.append(f"{name:>24}: {text}")
    lines += [f"{'warning':>24}: {w}" for w in results.get("warnings") or ()]
    return "\n".join(lines)

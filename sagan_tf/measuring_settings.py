"""The settings every evaluation shares, declared once: the classifier that measures
and the real data it is compared with.

`sagan-eval` (`EvalSettings`) and `sagan-fid-stats` (`ReferenceSettings`) are made of
`ClassifierSettings` and `RealDataSettings` (their flags are generated from the
fields); `sagan-train`'s `--eval_classifier` takes `DEFAULT_CLASSIFIER` and
`CLASSIFIER_HELP` from here.

The one default classifier is `domain`: a small CNN trained once on the dataset's own
train split (saved and reused). It needs no download and works offline on any labelled
dataset, including the default `digits`, whose 8x8 images Inception's features
describe poorly; figures to compare with the literature need `--classifier=inception`
(and 50,000 images), which the protocol names and the JSON's `classifier` record.
"""

import dataclasses

from sagan_tf.data.sources import DATASET_HELP
from sagan_tf.metrics.hub_download import TIMEOUT_HELP
from sagan_tf.settings import setting

DEFAULT_CLASSIFIER = "domain"
CLASSIFIER_HELP = (
    "'domain' (a CNN trained on the dataset's train split, saved and reused: no download), "
    "'inception' (TF-GAN's Inception in the TF-Hub cache, downloaded through "
    "tensorflow_hub when missing, see --offline; the literature's), or a path to a .keras "
    "file, SavedModel or untarred TF-Hub module.")


@dataclasses.dataclass(frozen=True)
class ClassifierSettings:
    """The classifier whose outputs the metrics read."""

    classifier: str = setting(DEFAULT_CLASSIFIER, CLASSIFIER_HELP)
    domain_classifier_path: str | None = setting(
        None, "Where the domain classifier is loaded from, or saved to after training "
        "(default with --model_dir: <model_dir>/domain_classifier.keras).", kind="str")
    domain_epochs: int = setting(10, "Epochs to train the domain classifier.")
    hub_cache_dir: str | None = setting(
        None, "TF-Hub cache directory for --classifier=inception (default: "
        "$TFHUB_CACHE_DIR, else <tmp>/tfhub_modules).", kind="str")
    offline: bool = setting(
        False, "Never download: a classifier missing from the TF-Hub cache is an error "
        "(also with the environment variable SAGAN_OFFLINE=1).")
    download_timeout: float | None = setting(None, TIMEOUT_HELP, kind="float")


@dataclasses.dataclass(frozen=True)
class RealDataSettings:
    """The real images, and how they are read."""

    dataset: str | None = setting(
        None, f"Dataset of the real images (default: the run's). {DATASET_HELP}", kind="str")
    data_dir: str | None = setting(None, "TFDS data directory (default: the run's).",
                                   kind="str")
    num_classes: int | None = setting(
        None, "Number of classes (default: from the data, the run or the SavedModel).",
        kind="int")
    batch_size: int = setting(100, "Images per generator and classifier call.")
    seed: int = setting(0, "Seed of the real images' order (TFDS and folders) and, for "
                        "sagan-eval, of the noise (the z of generate(seed=...)) and the "
                        "fake labels.")
    progress: bool = setting(True, "Show progress bars.")

"""The classifier an evaluation measures with: `domain`, `inception` or a path."""

from sagan_tf import metrics, storage
from sagan_tf.evaluation import real_data
from sagan_tf.evaluation.generators import EvalError
from sagan_tf.evaluation.real_data import labelled_data

DOMAIN = "domain"


def load_eval_classifier(classifier, *, dataset=None, data_dir=None, resolution=None,
                         num_classes=None, domain_classifier_path=None, domain_epochs=10,
                         domain_test_split=None, domain_seed=0, hub_cache_dir=None,
                         offline=None, verbose=1, image_channels=3, crop="center"):
    """The classifier the `--classifier` flag names.

    `domain`: loaded from `domain_classifier_path`, or trained on the `train` split
    of `dataset` at `resolution` and saved there; its accuracy on
    `domain_test_split` (default: the source's `test_split`, `sagan_tf.data.sources`)
    is returned. The training seed is `domain_seed`, not the evaluation's:
    the classifier is a fixed measuring instrument, whatever `--seed` is. Its images
    have `image_channels` and `crop` (`real_data.read_as`: the run's). Others go to
    `sagan_tf.metrics.load_classifier` (`inception` is downloaded into the TF-Hub cache
    unless `offline` or `$SAGAN_OFFLINE`).

    Returns:
        `(Classifier, test_accuracy or None)`.
    """
    if classifier != DOMAIN:
        return metrics.load_classifier(classifier, hub_cache_dir=hub_cache_dir,
                                       offline=offline), None
    if not domain_classifier_path:
        raise EvalError("`--classifier=domain` needs `--domain_classifier_path` (default "
                        "<model_dir>/domain_classifier.keras, so give it without "
                        "--model_dir).")
    if dataset is None:
        raise EvalError("`--classifier=domain` needs the dataset to train on: pass "
                        "--dataset (or --model_dir).")
    if domain_test_split is None:
        domain_test_split = real_data.default_test_split(dataset)
    train_data = None
    if not storage.exists(domain_classifier_path):
        train_data = labelled_data(dataset, "train", resolution, data_dir, domain_seed,
                                   image_channels, crop)
    test_data = (labelled_data(dataset, domain_test_split, resolution, data_dir, None,
                               image_channels, crop) if domain_test_split else None)
    return metrics.load_or_train_domain_classifier(
        domain_classifier_path, train_data=train_data, test_data=test_data,
        num_classes=num_classes, epochs=domain_epochs, seed=domain_seed, verbose=verbose)

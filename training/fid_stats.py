"""sagan-fid-stats: reference statistics of a real split, for sagan-eval --reference.

    sagan-fid-stats --dataset=digits --resolution=32 --classifier=domain \\
        --domain_classifier_path=runs/digits/domain_classifier.keras --output=digits.npz
    sagan-fid-stats --dataset=imagenet2012 --split=train --resolution=128 \\
        --classifier=inception --output=imagenet128_train.npz

The classifier runs once over the split (`--num_images` caps it) at `--resolution`, the
generator's, then resized as in every evaluation; the `.npz` file holds the mean and
covariance of all activations (`mu`, `sigma`, as TTUR names them), the activations of
the first `--num_activations` images (KID, precision/recall, density/coverage need
them) and the protocol: classifier name and SHA-256 of its weights, input size and
resize, dataset, split, resolution, number of images. `sagan-eval --reference=FILE` then
skips the real images, and refuses a file made with another classifier or resolution.
The file is written atomically (`sagan_tf.storage`, any filesystem). Errors the user
can fix end the program with one line `sagan-fid-stats: error: ...` and status 1.

The program is flags and `main`: the work is `sagan_tf.evaluation.reference_run`.
"""

import dataclasses
import sys

import tensorflow as tf
from absl import flags, logging

from sagan_tf import metrics, settings
from sagan_tf.metrics import hub_download
from sagan_tf.evaluation.reference_run import ReferenceSettings, write_reference_stats

settings.define_flags(ReferenceSettings)
FLAGS = flags.FLAGS


def main(argv):
    """Computes and writes the reference statistics."""
    if len(argv) > 1:
        sys.exit(f"sagan-fid-stats: error: unexpected arguments {argv[1:]} (flags are "
                 "--name=value).")
    try:
        options = ReferenceSettings(**{name: FLAGS[name].value for name in _SETTINGS})
        hub_download.set_download_timeout(options.download_timeout)
        verbose = (1 if sys.stdout.isatty() else 2) if options.progress else 0
        stats = write_reference_stats(options, verbose=verbose)
    except (metrics.ClassifierNotFoundError, OSError, ValueError, tf.errors.OpError) as e:
        logging.debug("sagan-fid-stats failed", exc_info=True)
        sys.exit(f"sagan-fid-stats: error: {e}")
    p = stats.protocol
    print(f"Wrote {options.output}: {p['num_images']} images of {p['dataset']} "
          f"{p['split']} at {p['resolution']}x{p['resolution']}, classifier "
          f"'{p['classifier']}' ({p['num_features']} features, "
          f"{p['num_activations']} activations kept)")


_SETTINGS = [f.name for f in dataclasses.fields(ReferenceSettings)]


def run():
    settings.run_program(main, "sagan-fid-stats", (__name__,))


if __name__ == "__main__":
    run()

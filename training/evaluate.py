"""sagan-eval: Inception Score, FID, KID, intra-FID, precision/recall and
density/coverage of a trained generator.

    sagan-eval --model_dir=runs/digits --classifier=domain --num_samples=2000
    sagan-eval --model_dir=runs/imagenet128 --classifier=inception \
        --reference=imagenet128_train.npz
    sagan-eval --saved_model=serving/sagan/1 --dataset=digits --classifier=domain \\
        --domain_classifier_path=runs/digits/domain_classifier.keras

The generator is the latest checkpoint of a `sagan-train` run (`--model_dir`, EMA
weights unless `--nouse_ema`; `--checkpoint` picks another, e.g. the one in
`<model_dir>/best_fid/`), or an exported SavedModel (`--saved_model`, a version
directory written by `sagan-export`, or its export base: the highest version)
through its `serving_default` signature. `--standing_stats=N` (with `--model_dir`)
evaluates G with BigGAN's standing statistics (`sagan_tf.standing_stats`), as
`sagan-export --standing_stats=N` exports it.

`--num_samples` (default 50,000, the literature's) fake images are generated
class-balanced: the labels are
`evaluate`'s (`arange(N) % num_classes` shuffled with `--seed`) and the i-th image
gets row i of `sagan_tf.noise.latents(seed, N, z_dim)`, the z that the export's
`generate(seed=...)` gives its i-th image: a seed gives the same numbers for a
checkpoint and for its export, and `sagan-eval --seed=s` scores the images that
`generate(labels, seed=s)` returns for the same labels. The real
images are the first `--num_samples` of `--real_split` of the run's dataset (for
`digits`: its held-out test split, 359 images; other datasets are shuffled with
`--seed`). Fewer real than fake images is allowed (logged): FID and KID then
compare the sets as they are; `num_real_samples` in the JSON says how many.
`--reference=stats.npz` (written by `sagan-fid-stats`, or a TTUR-style file with `mu`
and `sigma`: FID alone) replaces the real images; a file made with another classifier
or resolution is refused, naming what differs.

`--classifier`: `domain` (the default, `sagan_tf.measuring_settings`), `inception`
(TF-GAN's Inception from the TF-Hub cache), or a path to a `.keras` model, a SavedModel or
an untarred TF-Hub module. `domain` is a small CNN trained on the dataset's training
split, saved at `--domain_classifier_path` (default
`<model_dir>/domain_classifier.keras`) and reused from there; its test
accuracy is printed and reported. `inception` (and a TF-Hub URL) missing from the
TF-Hub cache is downloaded there through `tensorflow_hub`, with a progress line;
`--offline` (or `SAGAN_OFFLINE=1`) forbids it, and a missing module is then an error
that says how to obtain it.

The metrics are printed and written as JSON to `--output` (default
`<model_dir>/eval.json`; with `--saved_model` and no `--model_dir`: stdout only):
one key per row of `sagan_tf.evaluation.METRICS` (`fid`, `kid`, `inception_score` in one
pass and `inception_score_splits_mean`/`_std` over 10 splits as papers report it, ...; null
where not computed), the same figures under their protocol names (`fid50k_train`, `is50k`,
`is50k_10splits`, ...; printed so) with `protocols` mapping one to the other,
`generated_images` ("uint8": quantized before the classifier as real images are, the
default; "float32" with `--noquantize_generated`), and `reference`, `num_samples`,
`num_real_samples`, `batch_size`, `seed`, `num_classes`, `classifier` (its name),
`classifier_flag`, `classifier_test_accuracy` (domain only), `domain_classifier_path`,
`dataset`, `real_split`, `resolution`, `model_dir`, `saved_model`, `checkpoint`,
`checkpoint_step` (the G step stored in the checkpoint), `use_ema`, `standing_stats`.
Errors the user can fix (missing classifier, run, checkpoint, flag) end the program
with one line `sagan-eval: error: ...` on stderr and status 1 (`-v 1` logs the
traceback).

The program is flags and `main`: the evaluation is `sagan_tf.evaluation`, which
`EvalCallback` calls with the same settings (`EvalSettings`, from which the flags
are generated).
"""

import dataclasses
import json
import sys

import tensorflow as tf
from absl import flags, logging

from sagan_tf import metrics, settings, storage
from sagan_tf.metrics import hub_download
from sagan_tf.evaluation import EvalSettings, finite_results, format_results, run_evaluation
from sagan_tf.run_dir import RunDir

settings.define_flags(EvalSettings)
flags.DEFINE_string("output", None, "JSON file for the results (default: "
                    "<model_dir>/eval.json; without --model_dir the JSON goes to stdout).")
FLAGS = flags.FLAGS


def main(argv):
    """Evaluates, prints, writes the JSON."""
    if len(argv) > 1:
        sys.exit(f"sagan-eval: error: unexpected arguments {argv[1:]} (flags are --name=value).")
    try:
        output = FLAGS.output or (RunDir(FLAGS.model_dir).eval_file if FLAGS.model_dir else None)
        if FLAGS.output or (output and storage.isdir(FLAGS.model_dir)):
            storage.check_writable_file(output, "--output")  # before minutes of work
        options = EvalSettings(**{name: FLAGS[name].value for name in _SETTINGS})
        hub_download.set_download_timeout(options.download_timeout)
        verbose = (1 if sys.stdout.isatty() else 2) if options.progress else 0  # 2: a line per epoch
        results = run_evaluation(options, verbose=verbose)
    except (metrics.ClassifierNotFoundError, OSError, ValueError, tf.errors.OpError) as e:
        logging.debug("sagan-eval failed", exc_info=True)  # The traceback with -v 1.
        sys.exit(f"sagan-eval: error: {e}")
    bad = finite_results.non_finite(results)
    if bad:
        sys.exit(finite_results.message(bad, "sagan-eval"))
    print(format_results(results))
    if output:
        storage.write_json(output, results)
        print(f"Wrote {output}")
    else:
        print(json.dumps(results, indent=2, sort_keys=True))
    # Nothing returned: app.run would print a return value and exit with status 1.


_SETTINGS = [f.name for f in dataclasses.fields(EvalSettings)]


def run():
    settings.run_program(main, "sagan-eval", (__name__,))


if __name__ == "__main__":
    run()

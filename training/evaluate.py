"""sagan-eval: Inception Score, FID, KID and intra-FID of a trained generator.

    sagan-eval --model_dir=runs/digits --classifier=domain
    sagan-eval --model_dir=runs/imagenet128 --classifier=/path/to/inception
    sagan-eval --saved_model=serving/sagan/1 --dataset=digits --classifier=domain \\
        --domain_classifier_path=runs/digits/domain_classifier.keras

The generator is the latest checkpoint of a `sagan-train` run (`--model_dir`, EMA
weights unless `--nouse_ema`; `--checkpoint` picks another, e.g. the one in
`<model_dir>/best_fid/`), or an exported SavedModel (`--saved_model`, a version
directory written by `sagan-export`, or its export base: the highest version)
through its `serving_default` signature.

`--num_samples` fake images are generated class-balanced: the labels are
`metrics.evaluate`'s (`arange(N) % num_classes` shuffled with `--seed`) and the
i-th image gets row i of `latents(seed, N, z_dim)`, a stateless N(0, I) draw, so
a seed gives the same numbers for a checkpoint and for its export. The real
images are the first `--num_samples` of `--real_split` of the run's dataset (for
`digits`: its held-out test split, 359 images; other datasets are shuffled with
`--seed`). Fewer real than fake images is allowed (logged): FID and KID then
compare the sets as they are; `num_real_samples` in the JSON says how many.

`--classifier`: `inception` (TF-GAN's Inception from the TF-Hub cache), a path to
a `.keras` model, a SavedModel or an untarred TF-Hub module, or `domain`: a small
CNN trained on the dataset's training split, saved at `--domain_classifier_path`
(default `<model_dir>/domain_classifier.keras`) and reused from there; its test
accuracy is printed and reported. Nothing is downloaded.

The metrics are printed and written as JSON to `--output` (default
`<model_dir>/eval.json`; with `--saved_model` and no `--model_dir`: stdout only):
the keys of `metrics.evaluate` (`inception_score`, `fid`, `kid`, `kid_std`,
`intra_fid`, `class_accuracy`; null where not computed) and `num_samples`,
`num_real_samples`, `batch_size`, `seed`, `num_classes`, `classifier` (its name),
`classifier_flag`, `classifier_test_accuracy` (domain only), `domain_classifier_path`,
`dataset`, `real_split`, `resolution`, `model_dir`, `saved_model`, `checkpoint`,
`checkpoint_step` (the G step stored in the checkpoint), `use_ema`. Errors the user
can fix (missing classifier, run, checkpoint, flag) end the program with one line
`sagan-eval: error: ...` on stderr and status 1 (`-v 1` logs the traceback).

The flags are defined by `define_flags()` when the program starts (`run()`), not
at import, so `training.train` can import this module's functions without its
flags clashing with the training program's.
"""

import json
import math
import os
import sys

from absl import app, flags, logging
import numpy as np
import tensorflow as tf

from sagan_tf import metrics
from sagan_tf.metrics.evaluation import METRIC_NAMES
from training import checkpointing
from training.config import TrainConfig

FLAGS = flags.FLAGS

DOMAIN = "domain"
DIGITS = "digits"
DOMAIN_CLASSIFIER_FILE = "domain_classifier.keras"
EVAL_FILE = "eval.json"
# Second word of the stateless seed of the evaluation noise (unrelated to the
# training noise, which uses [config.seed, step * 16 + stream]).
LATENT_STREAM = 0
_G_STEP_KEY = "g_optimizer/_iterations/.ATTRIBUTES/VARIABLE_VALUE"


class EvalError(ValueError):
    """A problem with the flags or inputs that the user must fix; printed briefly."""


# --------------------------------------------------------------------- generation


def latents(seed, num_samples, z_dim):
    """The evaluation noise: `tf.random.stateless_normal([N, z_dim], seed=[seed, 0])`.

    Returns a float32 NumPy array `[num_samples, z_dim]`; row i is the z of the
    i-th generated image.
    """
    return tf.random.stateless_normal(
        [int(num_samples), int(z_dim)],
        seed=tf.constant([int(seed), LATENT_STREAM], tf.int64)).numpy()


def keras_generator_call(generator):
    """`call(z, labels) -> images` for a Keras generator `[z, labels] -> images`."""
    z_dim = int(generator.inputs[0].shape[-1])

    @tf.function(input_signature=[tf.TensorSpec([None, z_dim], tf.float32),
                                  tf.TensorSpec([None], tf.int32)])
    def call(z, labels):
        return tf.cast(generator([z, labels], training=False), tf.float32)

    return call


def make_generate_fn(call, z_dim, num_samples, seed):
    """The `generate_fn(labels)` for `metrics.evaluate`.

    Each call takes the next `len(labels)` rows of `latents(seed, num_samples,
    z_dim)`, so image i gets z row i whatever the batch size.

    Args:
        call: `call(z float32 [B, z_dim], labels int32 [B]) -> images [B, H, W, 3]`
            in [-1, 1].
        z_dim: size of z.
        num_samples: number of images `metrics.evaluate` will ask for.
        seed: seed of the noise.
    """
    z = latents(seed, num_samples, z_dim)
    offset = 0

    def generate_fn(labels):
        nonlocal offset
        labels = np.asarray(labels, np.int32)
        if offset + len(labels) > len(z):
            raise ValueError(f"`generate_fn` was asked for more than num_samples="
                             f"{len(z)} images.")
        batch = z[offset:offset + len(labels)]
        offset += len(labels)
        return np.asarray(call(tf.constant(batch), tf.constant(labels)), np.float32)

    return generate_fn


def evaluate_call(call, z_dim, real_batches, classifier, num_samples, batch_size,
                  num_classes, seed=0, compute_intra_fid=True, progress=True,
                  evaluate_fn=None):
    """`metrics.evaluate` of a generator `call(z, labels)` with the seeded noise.

    `evaluate_fn` (default `metrics.evaluate`) is called with the arguments of
    `metrics.evaluate`; tests inject their own. Returns its dict of metrics.
    """
    evaluate_fn = evaluate_fn or metrics.evaluate
    generate_fn = make_generate_fn(call, z_dim, num_samples, seed)
    return evaluate_fn(generate_fn, real_batches, classifier, num_samples=num_samples,
                       batch_size=batch_size, num_classes=num_classes, seed=seed,
                       compute_intra_fid=compute_intra_fid, progress=progress)


# --------------------------------------------------------------------- generators


def load_checkpoint_generator(model_dir, use_ema=True, checkpoint=None):
    """The generator of a training run as a dict of what evaluation needs.

    Returns:
        Dict with `call`, `z_dim`, `resolution`, `num_classes`, `config`
        (`TrainConfig`), `checkpoint` (prefix) and `step` (G steps trained, read
        from the checkpoint).
    """
    checkpoint = checkpoint or checkpointing.latest_checkpoint(model_dir)
    generator, config = checkpointing.load_generator(model_dir, use_ema=use_ema,
                                                     checkpoint=checkpoint)
    return dict(call=keras_generator_call(generator),
                z_dim=int(generator.inputs[0].shape[-1]),
                resolution=int(generator.outputs[0].shape[1]),
                num_classes=int(config.num_classes), config=config,
                checkpoint=checkpoint, step=checkpoint_step(checkpoint))


def checkpoint_step(checkpoint):
    """G optimizer iterations stored in a checkpoint (its `-N` suffix as fallback)."""
    try:
        return int(tf.train.load_checkpoint(checkpoint).get_tensor(_G_STEP_KEY))
    except (tf.errors.NotFoundError, ValueError):
        suffix = checkpoint.rsplit("-", 1)[-1]
        return int(suffix) if suffix.isdigit() else None


def resolve_saved_model(path):
    """`path` if it holds a SavedModel, else its highest numbered version (as TF Serving)."""
    if not os.path.isdir(path):
        raise FileNotFoundError(f"`--saved_model={path}`: no such directory (pass a "
                                "version directory written by sagan-export).")
    if os.path.exists(os.path.join(path, "saved_model.pb")):
        return path
    versions = [int(name) for name in os.listdir(path) if name.isdigit()
                and os.path.exists(os.path.join(path, name, "saved_model.pb"))]
    if not versions:
        raise FileNotFoundError(f"`--saved_model={path}` holds neither a saved_model.pb nor "
                                "numbered version directories with one.")
    version = os.path.join(path, str(max(versions)))
    logging.info("Evaluating the latest version, %s", version)
    return version


def load_saved_model_generator(path, num_classes=None):
    """An exported generator's `serving_default` signature as a dict like above.

    The signature takes `z` float32 `[N, z_dim]` and `labels` int32 `[N]` and
    returns `images_float` in [-1, 1]. `path` is a SavedModel directory or an
    export base, whose highest version is taken. `z_dim` comes from the signature's input
    shape, else from the SavedModel's `latent_dim` variable (sagan-export leaves
    z's shape open and stores it there); `num_classes` from the argument, else
    the SavedModel's `num_classes` variable (`None` if it has none).
    """
    path = resolve_saved_model(path)
    loaded = tf.saved_model.load(path)
    if "serving_default" not in loaded.signatures:
        raise EvalError(f"The SavedModel at {path} has no serving_default signature; it "
                        f"has {sorted(loaded.signatures)}.")
    signature = loaded.signatures["serving_default"]
    inputs = signature.structured_input_signature[1]
    if set(inputs) != {"z", "labels"}:
        raise EvalError(f"serving_default of {path} must take `z` and `labels`. It takes "
                        f"{sorted(inputs)}.")
    z_dim = inputs["z"].shape[-1]
    if z_dim is None and hasattr(loaded, "latent_dim"):
        z_dim = int(loaded.latent_dim.numpy())
    if z_dim is None:
        raise EvalError(f"The size of z of the SavedModel at {path} is neither in its "
                        "serving_default signature nor in a `latent_dim` variable.")
    if num_classes is None and hasattr(loaded, "num_classes"):
        num_classes = int(loaded.num_classes.numpy())

    def call(z, labels):
        return signature(z=z, labels=labels)["images_float"]

    output = signature.structured_outputs.get("images_float")
    resolution = None if output is None else output.shape[1]
    if resolution is None:  # Not static in the signature: probe one image.
        resolution = int(call(tf.zeros([1, int(z_dim)]), tf.zeros([1], tf.int32)).shape[1])
    return dict(call=call, z_dim=int(z_dim), resolution=int(resolution),
                num_classes=num_classes, config=None, checkpoint=None, step=None,
                module=loaded, saved_model=path)


# --------------------------------------------------------------------- data


def default_real_split(dataset):
    return "test" if dataset == DIGITS else "train"


def real_batches(dataset, resolution, batch_size, split=None, data_dir=None, seed=0):
    """Batches `(images, labels)` of real images for the metrics.

    For `digits`, the split of `digits_arrays` in its fixed order (default: the
    held-out test split); for other datasets `load_dataset` of the split (default
    "train"), shuffled with `seed`, one pass.
    """
    split = split or default_real_split(dataset)
    if dataset == DIGITS:
        images, labels = _digits(split, resolution)
        return [(images[i:i + batch_size], labels[i:i + batch_size])
                for i in range(0, len(images), batch_size)]
    from sagan_tf import data  # pylint: disable=import-outside-toplevel

    batches, _ = data.load_dataset(dataset, resolution=resolution, global_batch_size=batch_size,
                                   split=split, data_dir=data_dir, shuffle=True, seed=seed,
                                   repeat=False, drop_remainder=False)
    return batches


def _digits(split, resolution):
    from sagan_tf import data  # pylint: disable=import-outside-toplevel

    return data.digits_arrays(split, resolution)


# --------------------------------------------------------------------- classifier


def load_eval_classifier(classifier, *, dataset=None, data_dir=None, resolution=None,
                         num_classes=None, domain_classifier_path=None, domain_epochs=10,
                         domain_test_split=None, domain_seed=0, hub_cache_dir=None,
                         verbose=1):
    """The classifier the `--classifier` flag names.

    `domain`: loaded from `domain_classifier_path`, or trained on the `train` split
    of `dataset` at `resolution` and saved there; its accuracy on
    `domain_test_split` (default: `test` for digits and TFDS datasets, none for
    folders) is returned. The training seed is `domain_seed`, not the evaluation's:
    the classifier is a fixed measuring instrument, whatever `--seed` is.

    Returns:
        `(Classifier, test_accuracy or None)`.
    """
    if classifier != DOMAIN:
        return metrics.load_classifier(classifier, hub_cache_dir=hub_cache_dir), None
    if not domain_classifier_path:
        raise EvalError("`--classifier=domain` needs `--domain_classifier_path` (default "
                        f"<model_dir>/{DOMAIN_CLASSIFIER_FILE}, so give it without "
                        "--model_dir).")
    if dataset is None:
        raise EvalError("`--classifier=domain` needs the dataset to train on: pass "
                        "--dataset (or --model_dir).")
    if domain_test_split is None and not os.path.isdir(dataset):
        domain_test_split = "test"
    train_data = None
    if not os.path.exists(domain_classifier_path):
        train_data = _labelled_data(dataset, "train", resolution, data_dir, domain_seed)
    test_data = (_labelled_data(dataset, domain_test_split, resolution, data_dir, None)
                 if domain_test_split else None)
    return metrics.load_or_train_domain_classifier(
        domain_classifier_path, train_data=train_data, test_data=test_data,
        num_classes=num_classes, epochs=domain_epochs, seed=domain_seed, verbose=verbose)


def _labelled_data(dataset, split, resolution, data_dir, seed):
    if dataset == DIGITS:
        return _digits(split, resolution)
    from sagan_tf import data  # pylint: disable=import-outside-toplevel

    batches, _ = data.load_dataset(dataset, resolution=resolution, global_batch_size=32,
                                   split=split, data_dir=data_dir, shuffle=seed is not None,
                                   seed=seed, repeat=False, drop_remainder=False)
    return batches


# --------------------------------------------------------------------- the program


def run_evaluation(*, model_dir=None, saved_model=None, checkpoint=None, use_ema=True,
                   num_classes=None, dataset=None, data_dir=None, real_split=None,
                   classifier="inception", domain_classifier_path=None, domain_epochs=10,
                   hub_cache_dir=None, num_samples=10000, batch_size=100, seed=0,
                   intra_fid=True, progress=True):
    """Everything `sagan-eval` does but printing and writing: returns the JSON dict."""
    if not (model_dir or saved_model):
        raise EvalError("Pass --model_dir (a sagan-train run) or --saved_model (a "
                        "sagan-export version directory).")
    config = TrainConfig.load(model_dir) if model_dir else None
    if saved_model:
        source = load_saved_model_generator(saved_model, num_classes)
        if source["num_classes"] is None and config is not None:
            source["num_classes"] = config.num_classes
    else:
        source = load_checkpoint_generator(model_dir, use_ema=use_ema, checkpoint=checkpoint)
    num_classes = num_classes or source["num_classes"]
    if not num_classes:
        raise EvalError("The number of classes is unknown: pass --num_classes.")
    if config is not None and num_classes != config.num_classes:
        raise EvalError(f"--num_classes={num_classes} but the run in {model_dir} has "
                        f"{config.num_classes} classes.")
    dataset = dataset or (config.dataset if config else None)
    if dataset is None:
        raise EvalError("The dataset of the real images is unknown: pass --dataset.")
    data_dir = data_dir or (config.data_dir if config else None)
    real_split = real_split or default_real_split(dataset)
    if domain_classifier_path is None and model_dir:
        domain_classifier_path = os.path.join(model_dir, DOMAIN_CLASSIFIER_FILE)
    resolution = source["resolution"]

    eval_classifier, test_accuracy = load_eval_classifier(
        classifier, dataset=dataset, data_dir=data_dir, resolution=resolution,
        num_classes=num_classes, domain_classifier_path=domain_classifier_path,
        domain_epochs=domain_epochs, hub_cache_dir=hub_cache_dir,
        verbose=(1 if sys.stdout.isatty() else 2) if progress else 0)  # 2: a line per epoch
    counter = _CountingBatches(real_batches(dataset, resolution, batch_size, real_split,
                                            data_dir, seed))
    results = evaluate_call(source["call"], source["z_dim"], counter, eval_classifier,
                            num_samples, batch_size, num_classes, seed=seed,
                            compute_intra_fid=intra_fid, progress=progress)
    results.update(
        num_samples=int(num_samples), num_real_samples=min(counter.count, int(num_samples)),
        batch_size=int(batch_size), seed=int(seed), num_classes=int(num_classes),
        classifier=eval_classifier.name, classifier_flag=classifier,
        classifier_test_accuracy=test_accuracy,
        domain_classifier_path=domain_classifier_path if classifier == DOMAIN else None,
        dataset=dataset, real_split=real_split, resolution=int(resolution),
        model_dir=model_dir, saved_model=source.get("saved_model"),
        checkpoint=source["checkpoint"],
        checkpoint_step=source["step"], use_ema=bool(use_ema) if not saved_model else None)
    return results


class _CountingBatches:
    """Iterates `batches`, counting the images it hands out."""

    def __init__(self, batches):
        self._batches = batches
        self.count = 0

    def __iter__(self):
        for batch in self._batches:
            self.count += int(batch[0].shape[0])
            yield batch


def format_results(results):
    """The metrics as aligned `name: value` lines."""
    lines = []
    for name in METRIC_NAMES + ("classifier_test_accuracy",):
        value = results.get(name)
        text = "n/a" if value is None else (f"{value:.4f}" if isinstance(value, float)
                                            and math.isfinite(value) else str(value))
        lines.append(f"{name:>24}: {text}")
    return "\n".join(lines)


def write_json(results, path):
    """Writes `results` to `path` (atomically)."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(results, f, indent=2, sort_keys=True)
        f.write("\n")
    os.replace(tmp, path)


def define_flags(flag_values=FLAGS):
    """Defines sagan-eval's flags (once)."""
    if "num_samples" in flag_values:
        return
    f = dict(flag_values=flag_values)
    flags.DEFINE_string("model_dir", None, "The --model_dir of a sagan-train run.", **f)
    flags.DEFINE_string("saved_model", None,
                        "A SavedModel written by sagan-export (a version directory, or the "
                        "export base: its highest version), evaluated through its "
                        "serving_default signature instead of a checkpoint.",
                        **f)
    flags.DEFINE_string("checkpoint", None,
                        "A checkpoint prefix of the run (default: its latest), e.g. "
                        "<model_dir>/best_fid/ckpt-N.", **f)
    flags.DEFINE_bool("use_ema", True, "Evaluate the EMA generator when the run kept one.",
                      **f)
    flags.DEFINE_integer("num_classes", None,
                         "Number of classes (default: from the SavedModel or the run).", **f)
    flags.DEFINE_integer("num_samples", 10000, "Number of fake (and at most real) images.",
                         lower_bound=2, **f)
    flags.DEFINE_integer("batch_size", 100, "Images per generator and classifier call.",
                         lower_bound=1, **f)
    flags.DEFINE_string("classifier", "inception",
                        "'inception' (TF-GAN's Inception in the TF-Hub cache), a path to a "
                        ".keras file, SavedModel or untarred TF-Hub module, or 'domain' (a "
                        "CNN trained on the dataset's train split).", **f)
    flags.DEFINE_string("domain_classifier_path", None,
                        "Where the domain classifier is loaded from, or saved to after "
                        f"training (default: <model_dir>/{DOMAIN_CLASSIFIER_FILE}).", **f)
    flags.DEFINE_integer("domain_epochs", 10, "Epochs to train the domain classifier.",
                         lower_bound=1, **f)
    flags.DEFINE_string("hub_cache_dir", None,
                        "TF-Hub cache directory for --classifier=inception (default: "
                        "$TFHUB_CACHE_DIR, else <tmp>/tfhub_modules).", **f)
    flags.DEFINE_string("dataset", None, "Dataset of the real images (default: the run's).",
                        **f)
    flags.DEFINE_string("data_dir", None, "TFDS data directory (default: the run's).", **f)
    flags.DEFINE_string("real_split", None,
                        "Split of the real images (default: 'test' for digits, else "
                        "'train').", **f)
    flags.DEFINE_integer("seed", 0, "Seed of the noise, the fake labels and the real "
                         "images' order.", **f)
    flags.DEFINE_bool("intra_fid", True, "Compute intra-FID (mean per-class FID).", **f)
    flags.DEFINE_bool("progress", True, "Show progress bars.", **f)
    flags.DEFINE_string("output", None,
                        f"JSON file for the results (default: <model_dir>/{EVAL_FILE}; "
                        "without --model_dir the JSON goes to stdout).", **f)


def main(argv, flag_values=FLAGS):
    """The program: evaluates, prints, writes the JSON (`flag_values`: `define_flags`')."""
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    options = {name: flag_values[name].value for name in _OPTION_FLAGS}
    try:
        results = run_evaluation(**options)
    except (metrics.ClassifierNotFoundError, FileNotFoundError, ValueError) as e:
        logging.debug("sagan-eval failed", exc_info=True)  # The traceback with -v 1.
        sys.exit(f"sagan-eval: error: {e}")
    print(format_results(results))
    model_dir = flag_values.model_dir
    output = flag_values.output or (os.path.join(model_dir, EVAL_FILE) if model_dir else None)
    if output:
        write_json(results, output)
        print(f"Wrote {output}")
    else:
        print(json.dumps(results, indent=2, sort_keys=True))
    # Nothing returned: app.run would print a return value and exit with status 1.


_OPTION_FLAGS = (
    "model_dir", "saved_model", "checkpoint", "use_ema", "num_classes", "dataset", "data_dir",
    "real_split", "classifier", "domain_classifier_path", "domain_epochs", "hub_cache_dir",
    "num_samples", "batch_size", "seed", "intra_fid", "progress")
_ALL_FLAGS = _OPTION_FLAGS + ("output",)


def run():
    define_flags()
    # --help lists the key flags of the main module, here the console script.
    for name in _ALL_FLAGS:
        FLAGS.register_key_flag_for_module(sys.argv[0], FLAGS[name])
    app.run(main)


if __name__ == "__main__":
    run()

"""sagan-train: trains SAGAN on a labelled image dataset.

    sagan-train --dataset=digits --model_dir=/tmp/sagan_digits --steps=2000

Started again with the same --model_dir, it resumes from the latest checkpoint (flags
left out take the saved values; see training.config.RESUMABLE for those that may
change). Writes into model_dir: config.json, checkpoints/, logs/ (TensorBoard),
samples/ (PNG grids, one row per class), losses.csv.
"""

import dataclasses
import sys

from absl import app, flags

from sagan_tf.presets import PRESETS
from training import pipeline, trainer
from training import strategy as strategy_lib
from training.config import PRECISIONS, STRATEGIES, TrainConfig, resume_config

_D = {f.name: f.default for f in dataclasses.fields(TrainConfig)
      if f.default is not dataclasses.MISSING}

flags.DEFINE_string("model_dir", None, "Directory of the run: config, checkpoints, logs, "
                    "samples. An existing run there is resumed.")
flags.DEFINE_string("dataset", _D["dataset"], "'digits' (scikit-learn's 8x8 digits, no "
                    "download), a folder with one sub-folder of images per class, or a "
                    "TensorFlow Datasets name with an image and a class label.")
flags.DEFINE_string("data_dir", _D["data_dir"], "TensorFlow Datasets data directory.")
flags.DEFINE_enum("preset", _D["preset"], sorted(PRESETS), "Architecture and resolution.")
flags.DEFINE_integer("batch_size", _D["batch_size"],
                     "Global batch per D step, split across all replicas.")
flags.DEFINE_integer("steps", _D["steps"], "Training iterations (G steps) in total.")
flags.DEFINE_integer("d_steps", _D["d_steps"], "D steps per G step (SAGAN: 1).")
flags.DEFINE_float("g_lr", _D["g_lr"], "Generator Adam learning rate (TTUR: 1e-4).")
flags.DEFINE_float("d_lr", _D["d_lr"], "Discriminator Adam learning rate (TTUR: 4e-4).")
flags.DEFINE_float("ema_decay", _D["ema_decay"],
                   "Decay of the generator's weight EMA used for samples; 0 disables it.")
flags.DEFINE_enum("strategy", _D["strategy"], STRATEGIES,
                  "default: one device; mirrored: all GPUs, or the logical CPUs; "
                  "multi_worker: MultiWorkerMirroredStrategy over TF_CONFIG's cluster.")
flags.DEFINE_integer("num_cpu_devices", _D["num_cpu_devices"],
                     "Split the CPU into this many logical devices (for mirrored training "
                     "without GPUs).")
flags.DEFINE_enum("mixed_precision", _D["mixed_precision"], PRECISIONS,
                  "Keras dtype policy of the networks.")
flags.DEFINE_integer("seed", _D["seed"], "Seed of the data order, the noise and the samples.")
flags.DEFINE_integer("checkpoint_every", _D["checkpoint_every"], "Steps between checkpoints.")
flags.DEFINE_integer("keep_checkpoints", _D["keep_checkpoints"], "Checkpoints kept.")
flags.DEFINE_integer("sample_every", _D["sample_every"],
                     "Steps between sample grids and attention maps.")
flags.DEFINE_integer("log_every", _D["log_every"], "Steps between scalar summaries.")
flags.DEFINE_integer("eval_every", _D["eval_every"], "Steps between FID/KID/IS evaluations "
                     "of the EMA generator, logged to TensorBoard with the best-FID checkpoint "
                     "kept in model_dir/best_fid (0: none).")
flags.DEFINE_integer("eval_num_samples", _D["eval_num_samples"],
                     "Generated images per evaluation.")
flags.DEFINE_string("eval_classifier", _D["eval_classifier"], "Classifier of the "
                    "evaluations: 'domain', 'inception' or a path (see sagan-eval).")
flags.DEFINE_list("g_channels", None, "Generator block channels, overriding the preset's "
                  "(e.g. 64,64,64 for sagan32).")
flags.DEFINE_list("d_channels", None, "Discriminator block channels, overriding the preset's.")
flags.DEFINE_list("attention", None, "Feature-map resolutions with self-attention in G and "
                  "D (preset's if not given; empty for the no-attention baseline).")
flags.DEFINE_boolean("synchronized_bn", False, "Generator BatchNorm statistics over the "
                     "global batch instead of each replica's share.")
flags.DEFINE_boolean("random_flip", _D["random_flip"], "Random left-right flips of the data.")
flags.DEFINE_boolean("deterministic", _D["deterministic"],
                     "tf.config.experimental.enable_op_determinism (slower).")
flags.mark_flag_as_required("model_dir")
FLAGS = flags.FLAGS

_PLAIN = ("dataset", "data_dir", "preset", "batch_size", "steps", "d_steps", "g_lr", "d_lr",
          "strategy", "num_cpu_devices", "mixed_precision", "seed", "checkpoint_every",
          "keep_checkpoints", "sample_every", "log_every", "random_flip", "deterministic",
          "eval_every", "eval_num_samples", "eval_classifier")


def _flag_changes():
    """The TrainConfig settings given on the command line (only those)."""
    given = lambda name: FLAGS[name].present  # noqa: E731
    ints = lambda values: [int(v) for v in values]  # noqa: E731
    changes = {name: FLAGS[name].value for name in _PLAIN if given(name)}
    changes["model_dir"] = FLAGS.model_dir
    if given("ema_decay"):
        changes["ema_decay"] = FLAGS.ema_decay or None
    g, d = {}, {}
    if given("g_channels"):
        g["channels"] = ints(FLAGS.g_channels)
    if given("d_channels"):
        d["channels"] = ints(FLAGS.d_channels)
    if given("attention"):
        g["attention_resolutions"] = d["attention_resolutions"] = ints(FLAGS.attention)
    if given("synchronized_bn"):
        g["synchronized_bn"] = FLAGS.synchronized_bn
    if g:
        changes["generator_overrides"] = g
    if d:
        changes["discriminator_overrides"] = d
    return changes


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
    try:
        config = resume_config(TrainConfig.load_if_exists(FLAGS.model_dir), _flag_changes())
        strategy = strategy_lib.create(config)
        strategy_lib.check_global_batch(config.batch_size, strategy)
        dataset, config = pipeline.load(config)
        model = trainer.build(config, strategy)
    except ValueError as e:  # settings that cannot work: say why, without a traceback
        raise app.UsageError(str(e)) from e
    _, stopped_by = trainer.fit(config, strategy, dataset, model)
    return 128 + stopped_by if stopped_by else 0


def run():
    # --help/--helpshort list the key flags of the main module: the console script.
    for flag in FLAGS.get_key_flags_for_module(__name__):
        FLAGS.register_key_flag_for_module(sys.argv[0], flag)
    app.run(main)


if __name__ == "__main__":
    run()

"""sagan-train: trains SAGAN on a labelled image dataset.

    sagan-train --dataset=digits --model_dir=/tmp/sagan_digits --steps=2000

Started again with the same --model_dir, it resumes from the latest checkpoint (flags
left out take the saved values; see sagan_tf.train_config.RESUMABLE for those that may
change). Writes into model_dir the run directory of `sagan_tf.run_dir`: config.json,
checkpoints/, logs/ (TensorBoard), samples/ (PNG grids, one row per class), losses.csv.

The flags are generated from `TrainConfig` (one per field, with its help) and from the
presets' network settings (`--g_<key>`, `--d_<key>`), so every setting is reachable
from the command line; `--attention` and `--synchronized_bn` are shorthands.
"""

import sys

import tensorflow as tf
from absl import flags, logging

from sagan_tf import cpu, init_from, metrics, settings, storage
from sagan_tf.run_dir import RunDir
from sagan_tf.run_lock import RunLock
from sagan_tf.train_config import TrainConfig, resume_config
from training import pipeline, trainer
from sagan_tf.divergence import DivergenceError
from training import strategy as strategy_lib

settings.define_flags(TrainConfig)
settings.define_network_flags()
flags.DEFINE_list("attention", None, "Feature-map resolutions with self-attention in G and "
                  "D (sets --g_attention_resolutions and --d_attention_resolutions; empty "
                  "for the no-attention baseline).")
flags.DEFINE_alias("synchronized_bn", "g_synchronized_bn")
flags.DEFINE_boolean("break_lock", False, "Take the run directory's lock (model_dir/.lock) "
                     "even though another sagan-train holds it: only when that one is gone, "
                     "e.g. its machine died.")
flags.mark_flag_as_required("model_dir")
FLAGS = flags.FLAGS


def _flag_changes():
    """The TrainConfig settings given on the command line (only those)."""
    changes = settings.flag_values(TrainConfig)
    changes["model_dir"] = FLAGS.model_dir
    networks = settings.network_flag_values()
    if FLAGS["attention"].present:
        resolutions = [int(v) for v in FLAGS.attention]
        for network in ("generator", "discriminator"):
            networks.setdefault(f"{network}_overrides", {})["attention_resolutions"] = (
                resolutions)
    return {**changes, **networks}


def main(argv):
    if len(argv) > 1:
        sys.exit(f"sagan-train: error: unexpected arguments {argv[1:]} (flags are --name=value).")
    logging.info("%s", cpu.describe())  # which CPU kernels TensorFlow runs (docs/cpu.md)
    try:
        storage.check_writable_directory(FLAGS.model_dir, "--model_dir")
        config = resume_config(RunDir(FLAGS.model_dir).load_config_if_exists(),
                               _flag_changes())
        strategy = strategy_lib.create(config)
        strategy_lib.check_global_batch(config.batch_size, strategy)
        chief = strategy_lib.is_chief(strategy)
        with RunLock(config.model_dir, break_lock=FLAGS.break_lock) if chief else _NoLock():
            dataset, config = pipeline.load(config)
            config = init_from.resolve(config)  # the classes are known now
            evaluations = trainer.eval_callback(config) if chief and config.eval_every else None
            model = trainer.build(config, strategy)
            _, stopped_by = trainer.fit(config, strategy, dataset, model, evaluations)
    except (ValueError, OSError, tf.errors.OpError, metrics.ClassifierNotFoundError,
            DivergenceError) as e:
        # What the user can fix, in one line: a setting, a file, the run directory.
        logging.debug("sagan-train failed", exc_info=True)  # the traceback with -v 1
        sys.exit(f"sagan-train: error: {e}")
    return 128 + stopped_by if stopped_by else 0


class _NoLock:  # the other workers of a cluster: the chief holds the lock
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def run():
    settings.run_program(main, "sagan-train", (__name__, settings.__name__))


if __name__ == "__main__":
    run()

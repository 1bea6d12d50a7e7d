"""sagan-export: a training run's generator as a versioned SavedModel for TF Serving.

    sagan-export --model_dir=runs/digits --export_base=serving/sagan [--version=N]

writes serving/sagan/N/ (SavedModel with the `serving_default` and `generate`
signatures, warmup requests) and serving/sagan/models.config. The EMA generator is
exported when the run kept one (`--nouse_ema` for the raw generator). Without
`--version` the next free version number is used; an existing version is kept
unless `--overwrite`. A request may hold at most `--max_batch_size` images (default
256); the limit is checked inside the SavedModel's graph.

    sagan-export --model_dir=runs/digits --export_base=exports/onnx --format=onnx

writes exports/onnx/N/generator.onnx (`--format=tflite`: generator.tflite, for
LiteRT) and sagan_tf.json: the inference graph of `serving_default`, z and labels ->
images, without the seed-based `generate` signature (see `export.converters`).
"""

import sys

import tensorflow as tf
from absl import flags, logging

from export import converters, exporter, module
from sagan_tf import settings, storage

FLAGS = flags.FLAGS

flags.DEFINE_string("model_dir", None, "The --model_dir of a sagan-train run.")
flags.DEFINE_string("export_base", None,
                    "Directory TF Serving watches; the version goes to <export_base>/<version>.")
flags.DEFINE_integer("version", None,
                     "Positive version number (default: 1 + the highest existing version).")
flags.DEFINE_bool("overwrite", False, "Replace the version if it exists.")
flags.DEFINE_bool("use_ema", True, "Export the EMA generator when the run kept one.")
flags.DEFINE_string("checkpoint", None,
                    "A checkpoint prefix of the run (default: its latest checkpoint).")
flags.DEFINE_string("model_name", "sagan", "The model's name in models.config and for clients.")
flags.DEFINE_string("serving_base_path", None,
                    "export_base as the server sees it, for models.config "
                    "(default: /models/<model_name>, the TF Serving Docker image's layout).")
flags.DEFINE_list("warmup_batch_sizes", ["1"],
                  "Batch sizes of the warmup requests (each at most --max_batch_size).")
flags.DEFINE_integer("max_batch_size", module.DEFAULT_MAX_BATCH_SIZE,
                     "The most images one request may ask for; larger requests are refused "
                     "in the graph (a few thousand full-width images would exhaust a "
                     "server's memory). Clients split larger jobs into several requests.")
flags.DEFINE_integer("standing_stats", 0,
                     "N > 0 exports G with standing statistics (BigGAN): its batch norms "
                     "use the average batch statistics of N training-mode passes of the "
                     "run's --batch_size on fresh noise instead of their moving averages. "
                     "The checkpoint is not changed. 0: the moving ones.")
flags.DEFINE_enum("format", converters.DEFAULT_FORMAT, list(converters.FORMATS),
                  "What to write: a SavedModel for TF Serving, or the generator's "
                  "inference graph (z, labels -> images) as ONNX or LiteRT (TFLite).")
flags.mark_flags_as_required(["model_dir", "export_base"])

#: Flags that only the SavedModel (TF Serving) format uses.
_SAVED_MODEL_FLAGS = ("model_name", "serving_base_path", "warmup_batch_sizes",
                      "max_batch_size")


def main(argv):
    if len(argv) > 1:
        sys.exit(f"sagan-export: error: unexpected arguments {argv[1:]} (flags are "
                 "--name=value).")
    try:
        warmup_sizes = [int(n) for n in FLAGS.warmup_batch_sizes]
    except ValueError:
        sys.exit("sagan-export: error: `--warmup_batch_sizes` takes comma-separated "
                 f"integers. Received: --warmup_batch_sizes={','.join(FLAGS.warmup_batch_sizes)}")
    if FLAGS.standing_stats < 0:
        sys.exit("sagan-export: error: `--standing_stats` takes N >= 0 passes. "
                 f"Received: --standing_stats={FLAGS.standing_stats}")
    serving = {"model_name": FLAGS.model_name, "serving_base_path": FLAGS.serving_base_path,
               "warmup_batch_sizes": warmup_sizes, "max_batch_size": FLAGS.max_batch_size}
    if FLAGS.format != converters.SAVED_MODEL:
        given = [f"--{name}" for name in _SAVED_MODEL_FLAGS if FLAGS[name].present]
        if given:
            sys.exit(f"sagan-export: error: {', '.join(given)}: for "
                     f"--format={converters.SAVED_MODEL} (TF Serving) only. Received: "
                     f"--format={FLAGS.format}")
        serving = {}
    try:
        exporter.check_batch_sizes(warmup_sizes, FLAGS.max_batch_size)  # before any write
        storage.check_writable_directory(FLAGS.export_base, "--export_base")
        path = exporter.export_model_dir(
            FLAGS.model_dir, FLAGS.export_base, FLAGS.version, use_ema=FLAGS.use_ema,
            checkpoint=FLAGS.checkpoint, overwrite=FLAGS.overwrite,
            standing_stats=FLAGS.standing_stats, export_format=FLAGS.format, **serving)
    except (ValueError, OSError, tf.errors.OpError) as e:
        # A bad flag value, a taken version, a model_dir without a run, a damaged
        # checkpoint, a full disk: the message says what to change, in one line.
        logging.debug("sagan-export failed", exc_info=True)  # the traceback with -v 1
        sys.exit(f"sagan-export: error: {e}")
    logging.info("Exported %s", path)
    print(path)


def run():
    settings.run_program(main, "sagan-export", (__name__,))


if __name__ == "__main__":
    run()

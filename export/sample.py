"""sagan-sample: PNG sample sheets from a training run or from its export.

    # one row per class, 8 samples each (column j shares z across classes)
    sagan-sample --model_dir=runs/digits --per_class=8 --output=classes.png
    # the same pixels from the export (a version dir, or export_base for the latest)
    sagan-sample --saved_model=serving/sagan --per_class=8 --output=classes.png
    # interpolation between the z of seeds 3 and 7, 10 steps, for class 4 only
    sagan-sample --model_dir=runs/digits --interpolate=3,7 --steps=10 --label=4 \\
        --output=interp.png
    # truncation: z_i drawn from N(0, 1) truncated to [-0.5, 0.5]
    sagan-sample --saved_model=serving/sagan --truncation=0.5 --output=trunc.png

    # a folder of 50,000 PNGs for clean-fid or torch-fidelity (class_<k>/ sub-folders
    # for a conditional model); run it again to resume
    sagan-sample --model_dir=runs/digits --num_images=50000 --output_dir=samples/

z comes from `sagan_tf.noise.latents`, the formula of the export's `generate`
signature, so `--seed` gives the images `generate` returns for that seed. An
unconditional model (no classes) gets a plain grid of --rows x --per_class images,
image i from row i of the seed's z, and an interpolation sheet of one row.
"""

import os
import sys

import tensorflow as tf
from absl import flags, logging

from export import sample_folder, sampling
from sagan_tf import settings, storage

FLAGS = flags.FLAGS

flags.DEFINE_string("model_dir", None, "The --model_dir of a sagan-train run.")
flags.DEFINE_string("saved_model", None,
                    "An export of sagan-export: a version directory, or the export_base "
                    "(its highest version).")
flags.DEFINE_string("output", None, "Path of the PNG sheet to write.")
flags.DEFINE_string("output_dir", None,
                    "Instead of a sheet: a folder of --num_images PNGs, one image each "
                    "(class_<k>/ sub-folders for a conditional model, names "
                    "seed<S>_<index>.png). Images already there are kept: run again to "
                    "resume.")
flags.DEFINE_integer("num_images", None, "--output_dir: the number of images.")
flags.DEFINE_integer("per_class", 8, "Class grid: samples per class (columns).")
flags.DEFINE_integer("rows", 8, "Unconditional models: rows of the plain grid (of "
                     "--per_class columns).")
flags.DEFINE_integer("seed", 0, "The noise seed.")
flags.DEFINE_list("interpolate", None,
                  "Two seeds START,END: rows of --steps images interpolating linearly "
                  "from z(START) to z(END) instead of the class grid.")
flags.DEFINE_integer("steps", 8, "Interpolation: images per row, end points included.")
flags.DEFINE_integer("label", None, "Only this class (one row); default: every class.")
flags.DEFINE_float("truncation", 0.0,
                   "> 0: truncate each z_i to [-truncation, truncation]; <= 0: none.")
flags.DEFINE_bool("use_ema", True, "--model_dir: sample from the EMA generator if any.")
flags.DEFINE_integer("batch_size", 64, "Largest batch run through the generator.")
flags.DEFINE_integer("standing_stats", 0,
                     "--model_dir: N > 0 samples with standing statistics (BigGAN): G's "
                     "batch norms use the average batch statistics of N training-mode "
                     "passes of the run's --batch_size on fresh noise instead of their "
                     "moving averages. The checkpoint is not changed. 0: the moving ones.")


def main(argv):
    try:
        if len(argv) > 1:
            raise ValueError(f"unexpected arguments {argv[1:]} (flags are --name=value).")
        if (FLAGS.model_dir is None) == (FLAGS.saved_model is None):
            raise ValueError("Pass exactly one of --model_dir and --saved_model.")
        if FLAGS.standing_stats < 0 or (FLAGS.standing_stats and FLAGS.saved_model):
            raise ValueError("--standing_stats takes N >= 0 passes, with --model_dir (an "
                             "export keeps the statistics it was exported with: "
                             "sagan-export --standing_stats=N). Received: "
                             f"--standing_stats={FLAGS.standing_stats}")
        if (FLAGS.output is None) == (FLAGS.output_dir is None):
            raise ValueError("Pass exactly one of --output (a sheet) and --output_dir (a "
                             "folder of --num_images PNGs).")
        if FLAGS.output_dir is not None:
            _folder()
            return
        if FLAGS.num_images is not None:
            raise ValueError("--num_images goes with --output_dir.")
        storage.check_writable_file(FLAGS.output, "--output")
        print(sampling.save_sheet(_sheet(), FLAGS.output))
    except (ValueError, OSError, tf.errors.OpError) as e:
        # A class outside the model, a missing run or export, a damaged checkpoint, an
        # output that cannot be written: the message says which, in one line.
        logging.debug("sagan-sample failed", exc_info=True)  # the traceback with -v 1
        sys.exit(f"sagan-sample: error: {e}")


def _folder():
    """The folder of PNGs the flags ask for."""
    if FLAGS.num_images is None or FLAGS.num_images < 1:
        raise ValueError("--output_dir takes --num_images=N, N >= 1. "
                         f"Received: --num_images={FLAGS.num_images}")
    sheet_only = [f"--{n}" for n in ("interpolate", "label", "per_class", "rows", "steps")
                  if FLAGS[n].present]
    if sheet_only:
        raise ValueError(f"{', '.join(sheet_only)}: for sheets (--output) only, not for "
                         "--output_dir.")
    storage.check_writable_directory(FLAGS.output_dir, "--output_dir")
    def absolute(path):  # the manifest's source must match from any working directory
        return path if storage.is_remote(path) else os.path.abspath(path)

    if FLAGS.model_dir:
        source = {"model_dir": absolute(FLAGS.model_dir), "use_ema": FLAGS.use_ema,
                  "standing_stats": FLAGS.standing_stats}
    else:
        source = {"saved_model": absolute(FLAGS.saved_model)}
    written, kept = sample_folder.write_sample_folder(
        _sampler(), FLAGS.output_dir, FLAGS.num_images, FLAGS.seed, FLAGS.truncation,
        source=source)
    logging.info("Wrote %d images, kept %d", written, kept)
    print(FLAGS.output_dir)


def _sampler():
    if FLAGS.model_dir:
        sampler = sampling.Sampler.from_model_dir(FLAGS.model_dir, use_ema=FLAGS.use_ema,
                                                  batch_size=FLAGS.batch_size,
                                                  standing_stats=FLAGS.standing_stats)
    else:
        sampler = sampling.Sampler.from_saved_model(FLAGS.saved_model,
                                                    batch_size=FLAGS.batch_size)
    return sampler


def _sheet():
    """The sheet the flags ask for."""
    sampler = _sampler()
    labels = None if FLAGS.label is None else [FLAGS.label]
    if FLAGS.interpolate:
        if len(FLAGS.interpolate) != 2:
            raise ValueError("--interpolate takes two seeds: START,END. "
                             f"Received: --interpolate={','.join(FLAGS.interpolate)}")
        try:
            start, end = (int(s) for s in FLAGS.interpolate)
        except ValueError:
            raise ValueError("--interpolate takes two integer seeds: START,END. "
                             f"Received: --interpolate={','.join(FLAGS.interpolate)}") from None
        sheet = sampling.interpolation_grid(sampler, start, end, FLAGS.steps,
                                            FLAGS.truncation, labels)
    elif not sampler.conditional:
        sampler.check_labels(labels)  # an unconditional model refuses --label
        sheet = sampling.plain_grid(sampler, FLAGS.rows, FLAGS.per_class, FLAGS.seed,
                                    FLAGS.truncation)
    else:
        sheet = sampling.class_grid(sampler, FLAGS.per_class, FLAGS.seed, FLAGS.truncation,
                                    labels)
    return sheet


def run():
    settings.run_program(main, "sagan-sample", (__name__,))


if __name__ == "__main__":
    run()

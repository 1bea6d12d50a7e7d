"""The run directory of a training run, and the export base of its SavedModels.

    model_dir/                 (any TF filesystem: a local path, gs://, s3://, hdfs://)
      config.json              TrainConfig (with num_classes and class_names)
      checkpoints/ckpt-N       tf.train.Checkpoint: G, D, EMA G, both optimizers (with
                               their step counters); the noise RNG is stateless, keyed on
                               the step, so the step is the whole RNG state
      logs/                    TensorBoard summaries
      samples/                 sample grids (PNG): step_<N>.png, latest.png
      losses.csv               the losses of every step
      domain_classifier.keras  the domain classifier of the evaluations, once trained
      eval.json, eval.jsonl    sagan-eval's results; the evaluations during training
      best_fid/                the checkpoint with the lowest FID during training

    export_base/<version>/     SavedModels written by sagan-export (see export.exporter)

The training program writes a run directory; sagan-eval, sagan-export and sagan-sample
read it through this module, so what a run directory is lives in one place.
"""

import dataclasses
import os

import tensorflow as tf

from sagan_tf import compat, storage
from sagan_tf.train_config import TrainConfig, build_generator

CONFIG_FILE = "config.json"
SAVED_MODEL_FILE = "saved_model.pb"


@dataclasses.dataclass(frozen=True)
class RunDir:
    """The paths of a run directory, and reading and writing what is in it."""

    path: str

    def __post_init__(self):
        object.__setattr__(self, "path", os.fspath(self.path))

    # -- the layout ---------------------------------------------------------------------

    def join(self, *parts):
        return storage.join(self.path, *parts)

    @property
    def config_file(self):
        return self.join(CONFIG_FILE)

    @property
    def checkpoints(self):
        return self.join("checkpoints")

    @property
    def logs(self):
        return self.join("logs")

    @property
    def samples(self):
        return self.join("samples")

    @property
    def losses(self):
        return self.join("losses.csv")

    @property
    def domain_classifier(self):
        return self.join("domain_classifier.keras")

    @property
    def eval_file(self):
        return self.join("eval.json")

    @property
    def eval_log(self):
        return self.join("eval.jsonl")

    @property
    def best_fid(self):
        return self.join("best_fid")

    # -- the config ---------------------------------------------------------------------

    def has_config(self):
        return storage.exists(self.config_file)

    def load_config(self):
        """The run's `TrainConfig`; FileNotFoundError naming the directory if it has none."""
        if not self.has_config():
            raise FileNotFoundError(
                f"No {CONFIG_FILE} in model_dir {self.path!r}: is it the `--model_dir` of a "
                "`sagan-train` run?")
        return TrainConfig.from_json(storage.read_text(self.config_file))

    def load_config_if_exists(self):
        """The saved config, or None for a new run."""
        return self.load_config() if self.has_config() else None

    def save_config(self, config):
        """Writes `config` as config.json (atomically)."""
        storage.write_atomically(self.config_file, config.to_json())

    # -- checkpoints --------------------------------------------------------------------

    def latest_checkpoint(self):
        """The prefix of the newest checkpoint, or None."""
        return tf.train.latest_checkpoint(self.checkpoints)

    def load_generator(self, use_ema=True, checkpoint=None):
        """Restores the generator of the run.

        Args:
            use_ema: the EMA generator when the run kept one.
            checkpoint: a checkpoint prefix (default: the latest of the run).

        Returns:
            `(generator, config, checkpoint)`: a `keras.Model` `[z, labels] -> images`,
            the run's `TrainConfig` and the checkpoint prefix restored.
        """
        config = self.load_config()
        checkpoint = checkpoint or self.latest_checkpoint()
        if checkpoint is None:
            raise FileNotFoundError(
                f"No checkpoint in {self.checkpoints!r}: the run has not saved one yet (it "
                "saves every `--checkpoint_every` steps and at the end).")
        generator = build_generator(config)
        name = "ema_generator" if use_ema and config.ema_decay is not None else "generator"
        tf.train.Checkpoint(**{name: generator}).restore(checkpoint).expect_partial()
        return generator, config, checkpoint


def make_checkpoint(model):
    """The tf.train.Checkpoint of everything a run needs to resume exactly."""
    items = dict(generator=model.generator, discriminator=model.discriminator,
                 g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer)
    if model.ema_generator is not None:
        items["ema_generator"] = model.ema_generator
    return tf.train.Checkpoint(**items)


def checkpoint_step(checkpoint):
    """G optimizer iterations stored in a checkpoint (its `-N` suffix as fallback)."""
    try:
        reader = tf.train.load_checkpoint(checkpoint)
        return int(reader.get_tensor(compat.optimizer_iterations_key("g_optimizer")))
    except (tf.errors.NotFoundError, ValueError):
        suffix = checkpoint.rsplit("-", 1)[-1]
        return int(suffix) if suffix.isdigit() else None


# -- exports ----------------------------------------------------------------------------


def export_versions(export_base):
    """The version numbers (numeric subdirectories) in `export_base`, ascending."""
    if not storage.isdir(export_base):
        return []
    return sorted(int(name) for name in storage.listdir(export_base)
                  if name.isdigit() and storage.isdir(storage.join(export_base, name)))


def resolve_saved_model(path):
    """`path` if it holds a SavedModel, else its highest version that holds one (as TF
    Serving picks it)."""
    path = os.fspath(path)
    if storage.exists(storage.join(path, SAVED_MODEL_FILE)):
        return path
    versions = [v for v in export_versions(path)
                if storage.exists(storage.join(path, str(v), SAVED_MODEL_FILE))]
    if not versions:
        raise FileNotFoundError(
            f"No SavedModel in {path!r}: pass a version directory (with saved_model.pb) or "
            "an export_base holding numbered versions, as `sagan-export` writes them.")
    return storage.join(path, str(versions[-1]))

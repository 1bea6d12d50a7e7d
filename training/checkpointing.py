"""The model_dir layout, the checkpoint of a run, and restoring a generator from it.

    model_dir/
      config.json          TrainConfig (with num_classes and class_names)
      checkpoints/ckpt-N   tf.train.Checkpoint: G, D, EMA G, both optimizers (with
                           their step counters); the noise RNG is stateless, keyed on
                           the step, so the step is the whole RNG state
      logs/                TensorBoard summaries
      samples/             sample grids (PNG): step_<N>.png, latest.png
      losses.csv           the losses of every step
"""

import os
import shutil
import tempfile

import keras
import tensorflow as tf

import sagan_tf
from sagan_tf.sagan import SAGAN
from training.config import TrainConfig

CHECKPOINT_DIR = "checkpoints"


def build_model(config):
    """Builds the (uncompiled) SAGAN model that `config` describes."""
    if not config.num_classes:
        raise ValueError("`num_classes` must be set in the config (it comes from the data). "
                         f"Received: num_classes={config.num_classes}")
    generator = sagan_tf.build_generator(config.preset, config.num_classes,
                                         **config.generator_overrides)
    discriminator = sagan_tf.build_discriminator(config.preset, config.num_classes,
                                                 **config.discriminator_overrides)
    return SAGAN(generator, discriminator, ema_decay=config.ema_decay,
                 ema_start_step=config.ema_start_step, seed=config.seed)


def compile_model(model, config):
    """Compiles with the config's TTUR Adam optimizers."""
    model.compile(
        g_optimizer=keras.optimizers.Adam(config.g_lr, beta_1=config.beta1, beta_2=config.beta2),
        d_optimizer=keras.optimizers.Adam(config.d_lr, beta_1=config.beta1, beta_2=config.beta2),
        d_steps_per_g_step=config.d_steps)


def make_checkpoint(model):
    """The tf.train.Checkpoint of everything a run needs to resume exactly."""
    items = dict(generator=model.generator, discriminator=model.discriminator,
                 g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer)
    if model.ema_generator is not None:
        items["ema_generator"] = model.ema_generator
    return tf.train.Checkpoint(**items)


def checkpoint_manager(model, directory, max_to_keep):
    return tf.train.CheckpointManager(make_checkpoint(model), directory,
                                      max_to_keep=max_to_keep)


class CheckpointWriter:
    """Saves and restores a run's checkpoints, the chief's way and the other workers'.

    The chief saves into model_dir/checkpoints, keeping the last `max_to_keep`.
    Under MultiWorkerMirroredStrategy every worker must take part in a save (it may
    run collective ops), so the other workers save into a temporary directory of
    their own, which they delete straight away. Every worker restores from
    model_dir/checkpoints (a file system they share).
    """

    def __init__(self, model, model_dir, max_to_keep, chief=True):
        self.chief = chief
        self.directory = os.path.join(model_dir, CHECKPOINT_DIR)
        self.checkpoint = make_checkpoint(model)
        self._iterations = model.g_optimizer.iterations
        self._manager = tf.train.CheckpointManager(self.checkpoint, self.directory,
                                                   max_to_keep=max_to_keep)
        self.last_saved_step = None

    @property
    def step(self):
        return int(self._iterations.numpy())

    def restore_latest(self):
        """Restores the latest checkpoint, if any; returns its step (0 for a new run)."""
        latest = self._manager.latest_checkpoint
        if latest is None:
            return 0
        self.checkpoint.restore(latest).assert_existing_objects_matched()
        self.last_saved_step = self.step
        return self.step

    def save(self):
        """Saves the current state, numbered by the step; returns the chief's path."""
        step = self.step
        if self.chief:
            path = self._manager.save(checkpoint_number=step)
        else:
            tmp = tempfile.mkdtemp(prefix="sagan-worker-ckpt-")
            try:
                tf.train.CheckpointManager(self.checkpoint, tmp, max_to_keep=1).save(
                    checkpoint_number=step)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            path = None
        self.last_saved_step = step
        return path


def latest_checkpoint(model_dir):
    return tf.train.latest_checkpoint(os.path.join(model_dir, CHECKPOINT_DIR))


def load_generator(model_dir, use_ema=True, checkpoint=None):
    """Restores the generator of a training run.

    Args:
        model_dir: the `--model_dir` of a `sagan-train` run.
        use_ema: return the EMA generator when the run kept one.
        checkpoint: a checkpoint prefix (default: the latest in model_dir).

    Returns:
        `(generator, config)`: a `keras.Model` `[z, labels] -> images` and the run's
        `TrainConfig`.
    """
    config = TrainConfig.load(model_dir)
    checkpoint = checkpoint or latest_checkpoint(model_dir)
    if checkpoint is None:
        raise FileNotFoundError(
            f"No checkpoint in {os.path.join(model_dir, CHECKPOINT_DIR)!r}: the run has not "
            "saved one yet (it saves every `--checkpoint_every` steps and at the end).")
    generator = sagan_tf.build_generator(config.preset, config.num_classes,
                                         **config.generator_overrides)
    name = "ema_generator" if use_ema and config.ema_decay is not None else "generator"
    tf.train.Checkpoint(**{name: generator}).restore(checkpoint).expect_partial()
    return generator, config

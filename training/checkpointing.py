"""The model_dir layout, the checkpoint of a run, and restoring a generator from it.

    model_dir/
      config.json          TrainConfig (with num_classes and class_names)
      checkpoints/ckpt-N   tf.train.Checkpoint: G, D, EMA G, both optimizers (with
                           their step counters); the noise RNG is stateless, keyed on
                           the step, so the step is the whole RNG state
      logs/                TensorBoard summaries
      samples/             sample grids (PNG)
"""

import os

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

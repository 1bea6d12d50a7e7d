"""The SAGAN model a `TrainConfig` describes: built, compiled, or its generator alone.

`build_model(config)` and `compile_model(model, config)` are what `sagan-train` runs
(in a distribution strategy's scope); `build_generator(config)` is the generator a
checkpoint of the run restores into (`sagan_tf.checkpoints.load_generator`).
"""

import keras

from sagan_tf import networks
from sagan_tf.sagan import SAGAN


def build_model(config):
    """The (uncompiled) `SAGAN` that `config` describes, in the current dtype policy."""
    generator = build_generator(config)
    discriminator = networks.build_discriminator(config.preset, _num_classes(config),
                                                 **config.discriminator_overrides)
    return SAGAN(generator, discriminator, ema_decay=config.ema_decay,
                 ema_start_step=config.ema_start_step, ema_warmup=config.ema_warmup,
                 mode_seeking=config.mode_seeking,
                 seed=config.seed,
                 diffaugment=config.diffaugment,
                 cutout_inside=config.diffaugment_cutout_inside)


def build_generator(config):
    """The generator that `config` describes (to restore a checkpoint into)."""
    return networks.build_generator(config.preset, _num_classes(config),
                                    **config.generator_overrides)


def compile_model(model, config):
    """Compiles `model` with the config's TTUR Adam optimizers, D steps, gradient
    accumulation and XLA choice."""
    model.compile(
        g_optimizer=keras.optimizers.Adam(config.g_lr, beta_1=config.beta1, beta_2=config.beta2),
        d_optimizer=keras.optimizers.Adam(config.d_lr, beta_1=config.beta1, beta_2=config.beta2),
        d_steps_per_g_step=config.d_steps, grad_accum=config.grad_accum,
        jit_compile=config.jit_compile)


def _num_classes(config):
    """The networks' `num_classes`: None for an unconditional model."""
    if config.unconditional:
        return None
    if not config.num_classes:
        raise ValueError("`num_classes` must be set in the config (it comes from the data). "
                         f"Received: num_classes={config.num_classes}")
    return config.num_classes

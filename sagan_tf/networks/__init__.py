"""The generator and discriminator networks."""

from sagan_tf.networks.discriminator import build_discriminator
from sagan_tf.networks.generator import build_generator

__all__ = ["build_discriminator", "build_generator"]

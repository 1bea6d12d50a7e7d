"""sagan-tf: Self-Attention GAN (Zhang et al. 2018) for TensorFlow 2 and Keras 3."""

from sagan_tf import layers, losses, presets
from sagan_tf.networks import build_discriminator, build_generator
from sagan_tf.presets import PRESETS
from sagan_tf.sagan import SAGAN

__version__ = "0.1.0"

__all__ = ["PRESETS", "SAGAN", "build_discriminator", "build_generator", "layers", "losses",
           "presets"]

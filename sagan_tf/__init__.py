"""sagan-tf: Self-Attention GAN (Zhang et al. 2018) for TensorFlow 2 and Keras 3."""

# First, before anything imports TensorFlow: its oneDNN CPU kernels on unless the user
# chose (TF_ENABLE_ONEDNN_OPTS); a no-op when TensorFlow is already loaded. See
# sagan_tf/cpu.py and docs/cpu.md.
from sagan_tf import cpu as _cpu  # isort: skip

_cpu.enable_onednn()

from sagan_tf import layers, losses, presets
from sagan_tf.networks import build_discriminator, build_generator
from sagan_tf.presets import PRESETS
from sagan_tf.sagan import SAGAN

__version__ = "0.1.0"

__all__ = ["PRESETS", "SAGAN", "build_discriminator", "build_generator", "layers", "losses",
           "presets"]

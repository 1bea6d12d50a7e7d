# First: sagan_tf turns TensorFlow's oneDNN kernels on before TensorFlow loads (the
# programs' modules import tensorflow at their top; see sagan_tf/cpu.py).
import sagan_tf  # noqa: F401  # isort: skip
from sagan_tf import compat  # noqa: E402  # isort: skip

compat.forget_console_script_requires()  # before anything imports pkg_resources

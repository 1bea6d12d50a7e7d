"""Session-wide test setup.

The CPU is split into two logical devices before TensorFlow initialises, so that
`tf.distribute.MirroredStrategy` tests run on real replicas without a GPU. Single-device
code keeps using /CPU:0 and is unaffected.
"""

import os
import uuid

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

# Before TensorFlow, as the programs do: the tests run the kernels the programs run
# (oneDNN unless TF_ENABLE_ONEDNN_OPTS says otherwise), in this process and in the
# program subprocesses, which inherit the variable (sagan_tf/cpu.py, docs/cpu.md).
import sagan_tf  # noqa: E402,F401  # isort: skip
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

NUM_LOGICAL_CPUS = 2

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * NUM_LOGICAL_CPUS)


@pytest.fixture
def ram_root():
    """A unique folder on TensorFlow's in-memory filesystem, removed afterwards."""
    root = f"ram://sagan_test_{uuid.uuid4().hex}"
    yield root
    if tf.io.gfile.exists(root):
        tf.io.gfile.rmtree(root)


# The `tiny` fixture (tiny models, digits) of the training and callback tests.
pytest_plugins = ["tiny_models"]

"""Session-wide test setup.

The CPU is split into two logical devices before TensorFlow initialises, so that
`tf.distribute.MirroredStrategy` tests run on real replicas without a GPU. Single-device
code keeps using /CPU:0 and is unaffected.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import tensorflow as tf  # noqa: E402

NUM_LOGICAL_CPUS = 2

_cpus = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpus[0], [tf.config.LogicalDeviceConfiguration()] * NUM_LOGICAL_CPUS)

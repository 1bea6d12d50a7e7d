"""The distribution strategy of a training run, and which process is the chief.

- `default`: one device (TensorFlow's default strategy).
- `mirrored`: `MirroredStrategy` over all GPUs, or over the logical CPU devices when
  there is no GPU (`--num_cpu_devices=N` splits the CPU into N of them).
- `multi_worker`: `MultiWorkerMirroredStrategy` over the cluster that the `TF_CONFIG`
  environment variable describes. All workers run the same command; worker 0 (or the
  task of type "chief", if the cluster has one) writes checkpoints and summaries.
  Each worker waits for the others to start at most `SAGAN_STARTUP_TIMEOUT` seconds
  (an environment variable; 300 when unset), then stops with an error that names
  the workers that did not start; SIGTERM and Ctrl-C end the wait (see
  `training.cluster.start_multi_worker`).
"""

import os

import tensorflow as tf

from sagan_tf import compat
from training.cluster import parse_tf_config, start_multi_worker, startup_timeout_from_env


def configure_cpu_devices(num_cpu_devices):
    """Splits the (first) CPU into `num_cpu_devices` logical devices (0 or 1: no split).

    Must run before TensorFlow initialises its devices (before any op runs).
    """
    if num_cpu_devices <= 1:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    current = tf.config.get_logical_device_configuration(cpu)
    if current is not None and len(current) == num_cpu_devices:
        return  # already split that way (e.g. by a test harness)
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * num_cpu_devices)
    except RuntimeError as e:
        raise RuntimeError(
            f"Cannot split the CPU into {num_cpu_devices} logical devices: TensorFlow has "
            "already initialised its devices. Set num_cpu_devices before any TensorFlow "
            "op runs (sagan-train does it first thing).") from e


def create(config, startup_timeout=None):
    """Configures devices and determinism, then returns the strategy `config` asks for.

    Call it before any other TensorFlow work: splitting the CPU and
    MultiWorkerMirroredStrategy both need an uninitialised runtime.

    `startup_timeout` (multi_worker only): how many seconds to wait for the cluster's
    other workers to start; None reads the `SAGAN_STARTUP_TIMEOUT` environment
    variable (300 when unset). See `start_multi_worker`.
    """
    if config.strategy == "multi_worker":  # a bad TF_CONFIG fails before TensorFlow starts
        tf_config = parse_tf_config(os.environ.get("TF_CONFIG"))
        if startup_timeout is None:
            startup_timeout = startup_timeout_from_env()
    configure_cpu_devices(config.num_cpu_devices)
    if config.deterministic:
        tf.config.experimental.enable_op_determinism()
    if config.strategy == "default":
        return tf.distribute.get_strategy()
    if config.strategy == "mirrored":
        gpus = tf.config.list_logical_devices("GPU")
        return mirrored([d.name for d in gpus or tf.config.list_logical_devices("CPU")])
    if config.strategy == "multi_worker":
        return start_multi_worker(*tf_config, startup_timeout)
    raise ValueError(f"Unknown strategy: {config.strategy!r}")


def mirrored(devices):
    """`MirroredStrategy(devices)` with collective keys no other strategy of this process
    uses, so a second one over the same devices (a test session, a notebook) does not
    fail its all-reduces (tensorflow/tensorflow#62790); see `compat.mirrored_strategy`.
    """
    return compat.mirrored_strategy(devices)


def task(strategy):
    """(task_type, task_id) of this process; (None, 0) outside a multi-worker cluster."""
    resolver = getattr(strategy, "cluster_resolver", None)
    if resolver is None or not resolver.cluster_spec().as_dict():
        return None, 0
    return resolver.task_type, int(resolver.task_id or 0)


def is_chief(strategy):
    """Whether this process writes checkpoints, summaries, samples and the config."""
    task_type, task_id = task(strategy)
    if task_type is None or task_type == "chief":
        return True
    cluster = strategy.cluster_resolver.cluster_spec().as_dict()
    return task_type == "worker" and task_id == 0 and "chief" not in cluster


def check_global_batch(batch_size, strategy):
    """Raises a ValueError unless the global batch splits evenly between the replicas."""
    replicas = strategy.num_replicas_in_sync
    if batch_size % replicas:
        lower = batch_size // replicas * replicas
        options = [b for b in (lower, lower + replicas) if b > 0]
        raise ValueError(
            f"--batch_size={batch_size} is the global batch, and it does not divide evenly "
            f"across the {replicas} replicas of {name(strategy)}: every replica "
            f"needs the same share. Use a multiple of {replicas}, e.g. "
            + " or ".join(f"--batch_size={b}" for b in options) + ".")


def name(strategy):
    """The public name of the strategy's class."""
    if isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy):
        return "MultiWorkerMirroredStrategy"  # its class is CollectiveAllReduceStrategy
    if isinstance(strategy, tf.distribute.MirroredStrategy):
        return "MirroredStrategy"
    if not tf.distribute.has_strategy() and strategy is tf.distribute.get_strategy():
        return "the default strategy"
    return type(strategy).__name__


def describe(strategy):
    """E.g. "MirroredStrategy with 2 replica(s) on /job:localhost/.../CPU:0, ...CPU:1"."""
    try:
        devices = strategy.extended.worker_devices
    except (RuntimeError, AttributeError):  # the default strategy has none
        devices = ()
    task_type, task_id = task(strategy)
    where = f" (this process: {task_type} {task_id})" if task_type else ""
    return (f"{name(strategy)} with {strategy.num_replicas_in_sync} replica(s) on "
            f"{', '.join(devices) or 'the default device'}{where}")


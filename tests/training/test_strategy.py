import types

import numpy as np
import pytest
import tensorflow as tf

from training import strategy as strategy_lib
from sagan_tf.train_config import TrainConfig


def _stub(replicas=1, cluster=None, task_type=None, task_id=None):
    resolver = None
    if cluster is not None:
        resolver = tf.distribute.cluster_resolver.SimpleClusterResolver(
            tf.train.ClusterSpec(cluster), task_type=task_type, task_id=task_id)
    return types.SimpleNamespace(num_replicas_in_sync=replicas, cluster_resolver=resolver)


@pytest.mark.parametrize("batch,replicas,suggestion", [
    (6, 4, "--batch_size=4 or --batch_size=8"),
    (3, 4, "--batch_size=4."),
    (7, 2, "--batch_size=6 or --batch_size=8"),
])
def test_indivisible_global_batch_names_both_numbers_and_the_fix(batch, replicas, suggestion):
    with pytest.raises(ValueError) as info:
        strategy_lib.check_global_batch(batch, _stub(replicas))
    message = str(info.value)
    assert f"--batch_size={batch} is the global batch" in message
    assert f"{replicas} replicas" in message and suggestion in message


def test_divisible_global_batch_passes():
    strategy_lib.check_global_batch(8, _stub(4))
    strategy_lib.check_global_batch(5, _stub(1))


def test_mirrored_uses_the_logical_cpus():
    """tests/conftest.py split the CPU in two: mirrored training gets two replicas."""
    strategy = strategy_lib.create(TrainConfig(model_dir="x", strategy="mirrored",
                                               num_cpu_devices=2))
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == 2
    assert [d.split("/")[-1] for d in strategy.extended.worker_devices] == [
        "device:CPU:0", "device:CPU:1"]
    assert strategy_lib.is_chief(strategy)
    assert strategy_lib.describe(strategy).startswith("MirroredStrategy with 2 replica(s)")
    default = strategy_lib.create(TrainConfig(model_dir="x"))
    assert default.num_replicas_in_sync == 1 and strategy_lib.is_chief(default)
    assert strategy_lib.describe(default) == (
        "the default strategy with 1 replica(s) on the default device")


def test_splitting_the_cpu_after_tensorflow_started_is_a_clear_error():
    strategy_lib.configure_cpu_devices(2)  # as it is already: nothing to do
    with pytest.raises(RuntimeError, match="already initialised"):
        strategy_lib.configure_cpu_devices(3)


def test_multi_worker_without_tf_config_says_what_to_set(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(ValueError, match="TF_CONFIG.*not set"):
        strategy_lib.create(TrainConfig(model_dir="x", strategy="multi_worker"))


@pytest.mark.parametrize("cluster,task_type,task_id,chief", [
    ({"worker": ["a:1", "b:1"]}, "worker", 0, True),
    ({"worker": ["a:1", "b:1"]}, "worker", 1, False),
    ({"chief": ["c:1"], "worker": ["a:1"]}, "chief", 0, True),
    ({"chief": ["c:1"], "worker": ["a:1"]}, "worker", 0, False),
])
def test_chief_is_worker_0_unless_the_cluster_has_a_chief(cluster, task_type, task_id, chief):
    strategy = _stub(2, cluster, task_type, task_id)
    assert strategy_lib.is_chief(strategy) is chief
    assert strategy_lib.task(strategy) == (task_type, task_id)


def test_each_mirrored_strategy_gets_its_own_collective_keys():
    """A second MirroredStrategy in one process reuses the first one's collective keys
    (tensorflow/tensorflow#62790): an all-reduce of another shape then fails."""
    for shape in ([3], [2, 5], [3]):
        strategy = strategy_lib.mirrored(["/cpu:0", "/cpu:1"])
        out = strategy.run(
            lambda s=shape: tf.distribute.get_replica_context().all_reduce("sum", tf.ones(s)))
        for value in strategy.experimental_local_results(out):
            np.testing.assert_array_equal(value, np.full(shape, 2.0))

import json
import os
import signal
import socket
import threading
import time
import types

import numpy as np
import pytest
import tensorflow as tf

from local_ports import free_ports
from training import cluster as cluster_lib
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


def _tf_config(cluster, task_type="worker", index=0):
    return json.dumps({"cluster": cluster, "task": {"type": task_type, "index": index}})


@pytest.mark.parametrize("text,problem", [
    ("{cluster: 1}", "is not JSON"),
    ("[1, 2]", "is a JSON list, not an object"),
    ('{"task": {"type": "worker", "index": 0}}', 'has no "cluster"'),
    ('{"cluster": {}, "task": {"type": "worker", "index": 0}}', 'has no "cluster"'),
    ('{"cluster": {"worker": "a:1"}, "task": {"type": "worker", "index": 0}}',
     'cluster job "worker" is not a list'),
    ('{"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}',
     'cluster job "worker" has no addresses'),
    ('{"cluster": {"worker": ["a:1", "b"]}, "task": {"type": "worker", "index": 0}}',
     "cluster worker 1 address 'b' is not \"host:port\""),
    ('{"cluster": {"worker": ["a:1", "b:x"]}, "task": {"type": "worker", "index": 0}}',
     "cluster worker 1 address 'b:x' is not \"host:port\""),
    ('{"cluster": {"worker": ["a:1", "b:1"]}}', 'has no "task"'),
    ('{"cluster": {"worker": ["a:1", "b:1"]}, "task": {"type": "worker"}}',
     'has no "task" with a "type" and an "index"'),
    (_tf_config({"worker": ["a:1", "b:1"]}, index=2),
     'task index 2 is out of range: the cluster lists 2 "worker" task(s), with indices 0, 1'),
    (_tf_config({"worker": ["a:1", "b:1"]}, index=-1), "task index -1 is out of range"),
    (_tf_config({"worker": ["a:1", "b:1"]}, index="one"),
     "task index 'one' is not a whole number"),
    (_tf_config({"worker": ["a:1", "b:1"]}, index=1.5), "task index 1.5 is not a whole"),
    (_tf_config({"worker": ["a:1"]}, task_type="chief"),
     'task type "chief" is not a job of the cluster (worker)'),
    (_tf_config({"worker": ["a:1"], "ps": ["p:1"]}, task_type="ps"),
     "task type 'ps' is not \"worker\" or \"chief\""),
])
def test_a_malformed_tf_config_is_a_one_line_error_naming_it(monkeypatch, text, problem):
    """Checked before TensorFlow starts anything (nothing blocks, nothing listens)."""
    monkeypatch.setenv("TF_CONFIG", text)
    with pytest.raises(ValueError) as info:
        strategy_lib.create(TrainConfig(model_dir="x", strategy="multi_worker"))
    message = str(info.value)
    assert message.startswith("TF_CONFIG ") and problem in message, message
    assert "\n" not in message and '"task": {"type": "worker", "index": 0}' in message


def test_tf_config_gives_the_cluster_and_this_task():
    cluster, task_type, index = cluster_lib.parse_tf_config(json.dumps({
        "cluster": {"chief": ["c:1"], "worker": {"1": "[::1]:3"}},
        "task": {"type": "worker", "index": "1"}}))
    assert cluster == {"chief": {0: ("c", 1)}, "worker": {1: ("::1", 3)}}
    assert (task_type, index) == ("worker", 1)


@pytest.mark.parametrize("value,seconds", [
    (None, 300.0), ("", 300.0), (" 12.5 ", 12.5), ("600", 600.0),
    ("abc", None), ("0", None), ("-5", None), ("inf", None), ("nan", None),
])
def test_the_startup_timeout_comes_from_sagan_startup_timeout(value, seconds):
    environ = {} if value is None else {"SAGAN_STARTUP_TIMEOUT": value}
    if seconds is not None:
        assert cluster_lib.startup_timeout_from_env(environ) == seconds
    else:
        with pytest.raises(ValueError, match=rf"SAGAN_STARTUP_TIMEOUT='{value}' is not a "
                                             "positive number of seconds"):
            cluster_lib.startup_timeout_from_env(environ)


def _multi_worker(monkeypatch, ports, index=0, timeout=1.0):
    monkeypatch.setenv("TF_CONFIG", _tf_config(
        {"worker": [f"127.0.0.1:{p}" for p in ports]}, index=index))
    return strategy_lib.create(TrainConfig(model_dir="x", strategy="multi_worker"),
                               startup_timeout=timeout)


def test_a_bad_startup_timeout_fails_before_anything_waits(monkeypatch):
    monkeypatch.setenv("SAGAN_STARTUP_TIMEOUT", "soon")
    monkeypatch.setenv("TF_CONFIG", _tf_config({"worker": ["127.0.0.1:1", "b:1"]}))
    with pytest.raises(ValueError, match="SAGAN_STARTUP_TIMEOUT='soon'"):
        strategy_lib.create(TrainConfig(model_dir="x", strategy="multi_worker"))


def test_the_workers_that_do_not_answer_are_named_after_the_timeout(monkeypatch):
    """Worker 1 listens (it has started); workers 2 and 3 do not. The wait fails before
    TensorFlow's runtime is touched, so it can run in this process."""
    ports = free_ports(4)
    before = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
    with socket.create_server(("127.0.0.1", ports[1])):
        start = time.monotonic()
        with pytest.raises(cluster_lib.ClusterStartupError) as info:
            _multi_worker(monkeypatch, ports, timeout=1.5)
        assert 1.5 <= time.monotonic() - start < 10
    assert str(info.value) == (
        f"Worker 2 (127.0.0.1:{ports[2]}) and worker 3 (127.0.0.1:{ports[3]}) did not "
        "start within 1.5 s: start sagan-train with the same flags there (TF_CONFIG "
        '"task": {"type": "worker", "index": 2} or {"type": "worker", "index": 3}), or '
        "check TF_CONFIG's cluster. This is worker 0; SAGAN_STARTUP_TIMEOUT sets how "
        "long it waits.")
    assert isinstance(info.value, ValueError)  # sagan-train's one-line errors
    assert {s: signal.getsignal(s) for s in before} == before  # handlers restored
    with socket.create_server(("", ports[0])):  # and the listener closed
        pass


def test_a_taken_port_of_this_worker_is_a_clear_error(monkeypatch):
    ports = free_ports(2)
    with socket.create_server(("127.0.0.1", ports[1])):
        with pytest.raises(ValueError) as info:
            _multi_worker(monkeypatch, ports, index=1)
    assert str(info.value).startswith(
        f"This process is worker 1 of TF_CONFIG's cluster, at 127.0.0.1:{ports[1]}, but "
        f"port {ports[1]} is taken (Address already in use)")


def test_sigterm_ends_the_wait_with_128_plus_the_signal(monkeypatch):
    received = []
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: received.append(signum))
    try:
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGTERM))
        timer.start()
        start = time.monotonic()
        with pytest.raises(cluster_lib.StartupInterrupted) as info:
            _multi_worker(monkeypatch, free_ports(2), timeout=30)
        assert time.monotonic() - start < 5
        assert info.value.code == 128 + signal.SIGTERM and not received
        assert signal.getsignal(signal.SIGTERM) is not None  # the test's handler is back
        os.kill(os.getpid(), signal.SIGTERM)
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.01)
        assert received == [signal.SIGTERM]
    finally:
        timer.cancel()
        signal.signal(signal.SIGTERM, previous)

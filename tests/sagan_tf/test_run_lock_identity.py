"""RunLock's record names the holder's process start time beside its pid: a lock whose
pid now runs an unrelated process is stale; a garbage lock is reported as unreadable;
and learning rates must be finite."""

import json
import os
import socket
import subprocess
import sys

import pytest

from sagan_tf import process_liveness, storage
from sagan_tf.run_lock import RunLock, RunLockedError
from sagan_tf.train_config import TrainConfig

needs_start_times = pytest.mark.skipif(process_liveness.start_time(os.getpid()) is None,
                                       reason="no process start times on this system")


@pytest.fixture
def unrelated():
    """A live process that is not the lock's holder."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def _lock(model_dir, **record):
    storage.write_atomically(storage.join(model_dir, ".lock"), json.dumps(
        dict(host=socket.gethostname(), program="sagan-train", token="old", **record)))


@needs_start_times
def test_the_record_holds_the_start_time_of_the_holder(tmp_path):
    with RunLock(str(tmp_path)) as lock:
        record = json.loads(storage.read_text(lock.path))
    assert record["pid_started"] == process_liveness.start_time(os.getpid())


@needs_start_times
def test_a_lock_naming_a_live_unrelated_process_is_stale(tmp_path, unrelated, caplog):
    started = process_liveness.start_time(unrelated)
    _lock(str(tmp_path), pid=unrelated, pid_started=started + 1)  # the pid was reused
    with RunLock(str(tmp_path)) as lock:
        assert "Taking over the stale lock" in caplog.text
        assert json.loads(storage.read_text(lock.path))["pid"] == os.getpid()


@needs_start_times
def test_a_lock_of_its_live_holder_is_refused(tmp_path, unrelated):
    _lock(str(tmp_path), pid=unrelated, pid_started=process_liveness.start_time(unrelated))
    with pytest.raises(RunLockedError, match=f"pid {unrelated} on host"):
        RunLock(str(tmp_path)).acquire()
    assert json.loads(storage.read_text(str(tmp_path / ".lock")))["pid"] == unrelated


def test_a_garbage_lock_is_reported_as_unreadable(tmp_path):
    (tmp_path / ".lock").write_text("{{ not json")
    with pytest.raises(RunLockedError, match="cannot be read .* delete that file or pass "
                                             "--break_lock") as raised:
        RunLock(str(tmp_path)).acquire()
    assert "? (pid ?" not in str(raised.value)
    assert (tmp_path / ".lock").read_text() == "{{ not json"  # left as it was


@pytest.mark.parametrize("name", ["g_lr", "d_lr"])
@pytest.mark.parametrize("value", [float("inf"), float("nan")])
def test_learning_rates_must_be_finite(tmp_path, name, value):
    with pytest.raises(ValueError, match=f"`{name}` must be positive and finite. "
                                         f"Received: {name}={value}"):
        TrainConfig(model_dir=str(tmp_path), **{name: value})

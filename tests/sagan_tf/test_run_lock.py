"""RunLock: a second run refuses and names the holder; stale locks are taken over."""

import json
import os
import socket
import subprocess
import sys
import uuid

import pytest

from sagan_tf import storage
from sagan_tf.run_lock import RunLock, RunLockedError


@pytest.fixture(params=["local", "ram"])
def model_dir(request, tmp_path):
    return str(tmp_path) if request.param == "local" else f"ram://{uuid.uuid4().hex}/run"


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid  # exited and reaped: no process has it (until the pid wraps)


def test_a_second_lock_refuses_and_names_the_holder(model_dir):
    with RunLock(model_dir) as first:
        holder = json.loads(storage.read_text(first.path))
        assert holder["pid"] == os.getpid() and holder["host"] == socket.gethostname()
        with pytest.raises(RunLockedError, match=f"pid {os.getpid()} on host "):
            RunLock(model_dir).acquire()
    assert not storage.exists(first.path)  # released
    RunLock(model_dir).acquire().release()  # and free again


def test_a_stale_lock_of_a_dead_process_on_this_host_is_taken_over(model_dir, caplog):
    path = storage.join(model_dir, ".lock")
    storage.write_atomically(path, json.dumps(dict(host=socket.gethostname(),
                                                   pid=_dead_pid(), token="old")))
    with RunLock(model_dir):
        assert "stale lock" in caplog.text
        assert json.loads(storage.read_text(path))["pid"] == os.getpid()


def test_another_hosts_lock_needs_break_lock(model_dir):
    path = storage.join(model_dir, ".lock")
    storage.write_atomically(path, json.dumps(dict(host="elsewhere", pid=1, token="x",
                                                   program="sagan-train", started="then")))
    with pytest.raises(RunLockedError, match="pid 1 on host elsewhere.*--break_lock"):
        RunLock(model_dir).acquire()
    with RunLock(model_dir, break_lock=True):
        assert json.loads(storage.read_text(path))["host"] == socket.gethostname()


def test_release_leaves_a_lock_taken_over_by_another_run(model_dir):
    lock = RunLock(model_dir).acquire()
    storage.write_atomically(lock.path, json.dumps(dict(host="b", pid=2, token="theirs")))
    lock.release()
    assert json.loads(storage.read_text(lock.path))["token"] == "theirs"

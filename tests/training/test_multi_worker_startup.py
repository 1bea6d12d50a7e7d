"""`sagan-train --strategy=multi_worker` when the cluster does not form: a worker that
never starts is named after SAGAN_STARTUP_TIMEOUT seconds, SIGTERM and Ctrl-C end the
wait, and a worker that starts late is still joined (in subprocesses, on 127.0.0.1)."""

import json
import os
import signal
import socket
import subprocess
import time

import pytest

from local_ports import free_ports

TINY = ["--dataset=digits", "--g_channels=16,16,16", "--d_channels=16,16,16,16",
        "--batch_size=8", "--steps=2", "--sample_every=1000"]


def _worker(model_dir, ports, index, timeout, tmp=None):
    """sagan-train as worker `index` of a cluster of workers at 127.0.0.1:`ports`."""
    tf_config = json.dumps({"cluster": {"worker": [f"127.0.0.1:{p}" for p in ports]},
                            "task": {"type": "worker", "index": index}})
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow",
               TF_CONFIG=tf_config, SAGAN_STARTUP_TIMEOUT=str(timeout))
    if tmp:
        env["TMPDIR"] = str(tmp)
    return subprocess.Popen(
        ["sagan-train", f"--model_dir={model_dir}", "--strategy=multi_worker", *TINY],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _wait_until_listening(port, proc, timeout=60):
    """Until a worker listens on its port: it has started waiting for the others."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the worker did not start waiting (exit status {proc.poll()})")


def _finish(proc, timeout):
    try:
        _, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        raise AssertionError(f"still running after {timeout} s:\n{err[-3000:]}") from None
    return proc.returncode, err


@pytest.mark.slow  # 16 s; the start-up wait's messages stay default in this file
def test_a_worker_that_never_starts_is_named_after_the_timeout(tmp_path):
    ports = free_ports(2)
    start = time.monotonic()
    code, err = _finish(_worker(tmp_path / "run", ports, 0, timeout=10), timeout=90)
    took = time.monotonic() - start
    assert code == 1, err[-3000:]
    assert 10 <= took < 60, took
    last = err.strip().splitlines()[-1]
    assert (f"Worker 1 (127.0.0.1:{ports[1]}) did not start within 10 s: start "
            "sagan-train with the same flags there (TF_CONFIG \"task\": "
            '{"type": "worker", "index": 1}), or check TF_CONFIG\'s cluster.') in last, last
    assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


@pytest.mark.parametrize("signum", [signal.SIGTERM, pytest.param(signal.SIGINT,
                                                                   marks=pytest.mark.slow)])
def test_sigterm_and_ctrl_c_end_the_wait(tmp_path, signum):
    """Exit status 128 + the signal number (143, 130), as when they stop training."""
    ports = free_ports(2)
    proc = _worker(tmp_path / "run", ports, 0, timeout=300)
    _wait_until_listening(ports[0], proc)
    time.sleep(1)
    start = time.monotonic()
    proc.send_signal(signum)
    code, err = _finish(proc, timeout=30)
    took = time.monotonic() - start
    assert code == 128 + signum, err[-3000:]
    assert took < 15, took
    assert (f"Received {signal.Signals(signum).name} while worker 0 waited for the other "
            "workers to start: exiting (nothing was trained).") in err.strip().splitlines()[-1]
    assert "Traceback" not in err


@pytest.mark.slow  # 14 s; the default run keeps the missing-worker and SIGTERM cases
def test_a_worker_that_answers_but_never_joins_ends_the_process(tmp_path):
    """Something else listens at worker 1's address: the wait ends, TensorFlow's blocks,
    and after the timeout faulthandler ends the process (status 1, with the stacks)."""
    ports = free_ports(2)
    with socket.create_server(("127.0.0.1", ports[1])):
        start = time.monotonic()
        code, err = _finish(_worker(tmp_path / "run", ports, 0, timeout=10), timeout=90)
        took = time.monotonic() - start
    assert code == 1, err[-3000:]
    assert 10 <= took < 60, took
    assert "All 2 tasks of the cluster have started" in err
    assert "Timeout (0:00:10)!" in err and "in start_multi_worker" in err


@pytest.mark.slow
def test_a_worker_that_starts_late_is_joined(tmp_path):
    """Worker 0 waits; worker 1 starts after it: both train, as if started together."""
    ports = free_ports(2)
    temps = [tmp_path / f"tmp{i}" for i in range(2)]
    for temp in temps:
        temp.mkdir()
    first = _worker(tmp_path / "run", ports, 0, timeout=300, tmp=temps[0])
    _wait_until_listening(ports[0], first)
    time.sleep(2)
    second = _worker(tmp_path / "run", ports, 1, timeout=300, tmp=temps[1])
    for proc in (first, second):
        code, err = _finish(proc, timeout=600)
        assert code == 0, err[-3000:]
        assert "All 2 tasks of the cluster have started" in err
    assert os.path.exists(tmp_path / "run" / "checkpoints")

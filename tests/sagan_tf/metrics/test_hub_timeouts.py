"""A download that never answers fails after the timeout naming the URL (a server on
127.0.0.1 that accepts the connection and never replies); tensorflow_hub's lock left by
a dead process of this host is taken over with a warning, a live holder's is not."""

import logging
import os
import socket
import subprocess
import sys
import time

import pytest

from sagan_tf import compat
from sagan_tf.metrics import hub_download, hub_lock


@pytest.fixture
def silent_server():
    """A listening socket that never accepts: the kernel completes the connection, the
    request is sent, and no byte ever comes back."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/never/answers/1"
    sock.close()


@pytest.fixture(autouse=True)
def online(monkeypatch):
    monkeypatch.delenv(hub_download.OFFLINE_ENV, raising=False)
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_download_that_never_answers_fails_naming_the_url(silent_server, tmp_path,
                                                            monkeypatch, capsys):
    monkeypatch.setenv(hub_download.TIMEOUT_ENV, "1.5")
    cache = str(tmp_path / "cache")
    start = time.time()
    with pytest.raises(hub_download.HubDownloadError) as raised:
        hub_download.resolve_module(silent_server, cache)
    assert time.time() - start < 60  # not forever (one wait of 1.5 s, and tf_hub's own)
    message = str(raised.value)
    assert f"Downloading {silent_server} timed out: no data from the server for 1.5 s" \
        in message
    assert "--download_timeout or SAGAN_DOWNLOAD_TIMEOUT" in message
    assert "fails after 1.5 s without data" in capsys.readouterr().out  # the progress line
    # Nothing is left to block the next run: no lock, no partial download.
    assert not [n for n in os.listdir(cache) if n.endswith((".lock", ".tmp"))]


@pytest.mark.parametrize("value", ["0", "-3", "soon", "inf"])
def test_a_bad_timeout_is_refused_by_name(monkeypatch, value):
    monkeypatch.setenv(hub_download.TIMEOUT_ENV, value)
    with pytest.raises(ValueError, match=f"`SAGAN_DOWNLOAD_TIMEOUT` .* must be a positive "
                                         f"number of seconds. Received: "
                                         f"SAGAN_DOWNLOAD_TIMEOUT='{value}'"):
        hub_download.download_timeout()


def test_the_default_timeout(monkeypatch):
    monkeypatch.delenv(hub_download.TIMEOUT_ENV, raising=False)
    assert hub_download.download_timeout() == hub_download.DEFAULT_TIMEOUT_S


def _lock(cache, handle, pid, host=None):
    module_dir = os.path.join(cache, compat.tfhub_cache_folder(handle))
    os.makedirs(f"{module_dir}.abc123.tmp")
    with open(f"{module_dir}.abc123.tmp/part", "w") as f:
        f.write("half a module")
    with open(module_dir + ".lock", "w") as f:
        f.write(f"{host or socket.gethostname()}.{pid}.abc123")
    return module_dir


def test_a_lock_of_a_dead_process_is_taken_over_with_a_warning(silent_server, tmp_path,
                                                               monkeypatch, caplog):
    """The next download starts at once (here: and times out on the silent server)
    instead of waiting on the dead process's lock."""
    monkeypatch.setenv(hub_download.TIMEOUT_ENV, "1")
    cache = str(tmp_path / "cache")
    module_dir = _lock(cache, silent_server, _dead_pid())
    with caplog.at_level(logging.WARNING), pytest.raises(hub_download.HubDownloadError,
                                                         match="timed out"):
        hub_download.resolve_module(silent_server, cache)
    assert "Taking over tensorflow_hub's download lock" in caplog.text
    assert "no longer runs" in caplog.text
    assert not os.path.exists(module_dir + ".lock")
    assert not os.path.exists(f"{module_dir}.abc123.tmp")


@pytest.mark.parametrize("holder", ["live", "other host", "garbage"])
def test_a_lock_that_may_be_held_is_left_alone(tmp_path, holder):
    cache = str(tmp_path / "cache")
    handle = "http://127.0.0.1:9/some/module/1"
    pid = os.getpid() if holder == "live" else _dead_pid()
    module_dir = _lock(cache, handle, pid, "elsewhere.example" if holder == "other host"
                       else None)
    if holder == "garbage":
        with open(module_dir + ".lock", "w") as f:
            f.write("not a lock")
    assert not hub_lock.take_over_stale_lock(handle, cache)
    assert os.path.exists(module_dir + ".lock")
    assert os.path.exists(f"{module_dir}.abc123.tmp/part")


def test_lock_holder_parses_hosts_with_dots():
    assert hub_lock.lock_holder("node.cluster.local.4242.0f3a") == (
        "node.cluster.local", 4242, "0f3a")
    assert hub_lock.lock_holder("garbage") is None


def test_the_programs_flag_sets_the_timeout(monkeypatch):
    monkeypatch.setenv(hub_download.TIMEOUT_ENV, "")  # restored afterwards
    hub_download.set_download_timeout(None)
    assert hub_download.download_timeout() == hub_download.DEFAULT_TIMEOUT_S
    hub_download.set_download_timeout(7)
    assert hub_download.download_timeout() == 7.0
    with pytest.raises(ValueError, match=r"`--download_timeout` must be a positive number "
                                         r"of seconds. Received: download_timeout=-1"):
        hub_download.set_download_timeout(-1)
    assert hub_download.download_timeout() == 7.0

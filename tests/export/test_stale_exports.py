"""Litter: a killed export's folder is removed by the next export (only a dead process's
of this host), a failed write test leaves no empty probe, and atomic writes fsync the
data before the rename."""

import json
import os
import socket
import subprocess
import sys

import tensorflow as tf

from export import stale_exports
from sagan_tf import process_liveness, storage


def _dead_pid():
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def _tmp(base, name, host, pid, started=None):
    path = base / name
    path.mkdir(parents=True)
    (path / "saved_model.pb").write_bytes(b"half")
    (path / stale_exports.OWNER_FILE).write_text(json.dumps(
        dict(host=host, pid=pid, started=started)))
    return path


def test_only_the_folders_of_dead_exports_of_this_host_are_removed(tmp_path, caplog):
    here = socket.gethostname()
    me = os.getpid()
    dead = _tmp(tmp_path, ".tmp-3-1-aaaa", here, _dead_pid())
    reused = _tmp(tmp_path, ".tmp-3-2-bbbb", here, me,  # my pid, another start time
                  started=(process_liveness.start_time(me) or 0) + 1)
    live = _tmp(tmp_path, ".tmp-3-3-cccc", here, me, process_liveness.start_time(me))
    remote = _tmp(tmp_path, ".tmp-3-4-dddd", "another-host.example", _dead_pid())
    unowned = tmp_path / ".tmp-2-0-eeee"
    unowned.mkdir()
    version = tmp_path / "1"
    version.mkdir()
    removed = stale_exports.clean_stale(str(tmp_path))
    expected = [dead] + ([reused] if process_liveness.start_time(me) is not None else [])
    assert sorted(removed) == sorted(str(p) for p in expected)
    for path in expected:
        assert not path.exists()
    for path in (live, remote, unowned, version):
        assert path.exists()
    assert "was killed before publishing it" in caplog.text


def test_a_failed_write_test_leaves_no_empty_probe(tmp_path, monkeypatch):
    real = tf.io.gfile.GFile

    class FullDisk(real):
        def write(self, data):
            raise tf.errors.ResourceExhaustedError(None, None, "No space left on device")

    monkeypatch.setattr(tf.io.gfile, "GFile", FullDisk)
    try:
        storage.check_writable_file(str(tmp_path / "out" / "eval.json"), "--output")
    except ValueError as e:
        assert "is not writable (No space left on device)" in str(e)
    else:
        raise AssertionError("the full disk was not reported")
    monkeypatch.setattr(tf.io.gfile, "GFile", real)
    assert not [n for n in os.listdir(tmp_path / "out") if n.startswith(".write-test")]


def test_atomic_writes_fsync_the_data_before_the_rename(tmp_path, monkeypatch):
    events = []
    real_fsync, real_rename = os.fsync, tf.io.gfile.rename

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def rename(src, dst, overwrite=False):
        events.append(("rename", src))
        real_rename(src, dst, overwrite)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(tf.io.gfile, "rename", rename)
    path = storage.write_json(str(tmp_path / "eval.json"), {"fid": 1.0})
    assert [kind for kind, _ in events] == ["fsync", "rename"]
    assert events[0][1] == events[1][1]  # the temporary file, before it is renamed
    assert json.loads(open(path).read()) == {"fid": 1.0}


def test_a_warmup_batch_size_of_zero_is_refused_before_anything_is_written(tmp_path):
    import pytest
    import sagan_tf
    from export.exporter import check_batch_sizes, export_generator

    with pytest.raises(ValueError, match=r"`warmup_batch_sizes` must be positive integers. "
                                         r"Received: warmup_batch_sizes=\[1, 0\] \(not: \[0\]\)"):
        check_batch_sizes([1, 0], 8)
    g = sagan_tf.build_generator("sagan32", 3, channels=[8, 8, 8], latent_dim=4)
    with pytest.raises(ValueError, match="must be positive integers"):
        export_generator(g, str(tmp_path / "serving"), num_classes=3, warmup_batch_sizes=[0])
    assert not (tmp_path / "serving").exists() or not any(
        n.isdigit() or n.startswith(".tmp") for n in os.listdir(tmp_path / "serving"))

"""sagan_tf.storage on the local disk and on TF's in-memory filesystem (ram://)."""

import os
import uuid

import pytest
import tensorflow as tf

from sagan_tf import storage


@pytest.fixture(params=["local", "ram"])
def root(request, tmp_path):
    return str(tmp_path) if request.param == "local" else f"ram://{uuid.uuid4().hex}"


def test_atomic_writes_read_back_and_leave_no_temporary_file(root):
    path = storage.join(root, "a", "b", "file.json")
    storage.write_json(path, {"x": [1, 2]})
    storage.write_json(path, {"x": [3]})  # replaces
    assert storage.read_json(path) == {"x": [3]}
    assert storage.listdir(storage.join(root, "a", "b")) == ["file.json"]
    storage.write_atomically(storage.join(root, "bytes"), b"\x00\xff")
    assert storage.read_bytes(storage.join(root, "bytes")) == b"\x00\xff"


def test_a_failed_write_keeps_the_old_file(root, monkeypatch):
    path = storage.join(root, "keep.txt")
    storage.write_atomically(path, "old")

    def broken_rename(*args, **kwargs):
        raise tf.errors.ResourceExhaustedError(None, None, "disk full")

    monkeypatch.setattr(tf.io.gfile, "rename", broken_rename)
    with pytest.raises(tf.errors.ResourceExhaustedError):
        storage.write_atomically(path, "new")
    monkeypatch.undo()
    assert storage.read_text(path) == "old"
    assert storage.listdir(root) == ["keep.txt"]  # the temporary file is gone


def test_move_tree_moves_every_file_saved_model_last(root, monkeypatch):
    source, target = storage.join(root, ".tmp"), storage.join(root, "1")
    for name in ("saved_model.pb", "variables/variables.index", "assets.extra/x"):
        storage.write_atomically(storage.join(source, name), name)
    copied = []
    real_copy = tf.io.gfile.copy
    monkeypatch.setattr(tf.io.gfile, "copy",
                        lambda a, b, overwrite=False: (copied.append(os.path.basename(a)),
                                                       real_copy(a, b, overwrite))[1])
    storage.move_tree(source, target, last=("saved_model.pb",))
    assert not storage.exists(source)
    for name in ("saved_model.pb", "variables/variables.index", "assets.extra/x"):
        assert storage.read_text(storage.join(target, name)) == name
    if storage.is_remote(root):  # copied file by file, the SavedModel's marker last
        assert copied[-1] == "saved_model.pb" and len(copied) == 3


def test_ram_directory_rename_moves_only_the_entry():
    """Why move_tree copies on remote filesystems: a ram:// directory "rename" leaves
    the files behind (object stores have no directories either)."""
    root = f"ram://{uuid.uuid4().hex}"
    storage.write_atomically(storage.join(root, "d", "f"), "x")
    tf.io.gfile.rename(storage.join(root, "d"), storage.join(root, "e"))
    assert not storage.exists(storage.join(root, "e", "f"))

"""Tests of sagan_tf.data.numpy_file: .npy and .npz files written by NumPy, read locally
and from TF's ram:// filesystem, compared with the arrays they hold; and the files it
refuses, each by name, without unpickling anything."""

import io
import os
import pickle

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf import data
from sagan_tf.data import checks, numpy_file


def _write(path, save, *args, **kwargs):
    """Writes what np.save / np.savez / np.savez_compressed write, through tf.io.gfile."""
    buffer = io.BytesIO()
    save(buffer, *args, **kwargs)
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(buffer.getvalue())
    return path


@pytest.fixture(params=["local", "ram"])
def root(request, tmp_path):
    """A local folder, or one on TF's in-memory filesystem (any TF filesystem works)."""
    if request.param == "local":
        return str(tmp_path)
    ram = request.getfixturevalue("ram_root")
    tf.io.gfile.makedirs(ram)
    return ram


@pytest.mark.parametrize("save", [np.savez, np.savez_compressed], ids=lambda f: f.__name__)
def test_an_npz_with_labels_is_class_conditional(root, save, helpers):
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (6, 8, 8, 4), dtype=np.uint8)
    labels = np.array([2, 0, 1, 2, 0, 1])
    path = _write(root + "/x.npz", save, images=images, labels=labels)
    ds, info = helpers.load_all(path, 8, image_channels=4)
    x, y = helpers.collect(ds)
    assert info.num_classes == 3 and info.class_names == ("0", "1", "2")
    assert info.image_shape == (8, 8, 4) and info.num_examples == 6
    np.testing.assert_allclose(x, images / 127.5 - 1.0, atol=1e-6)
    np.testing.assert_array_equal(y, labels)
    # The same batches as the arrays themselves give (a second code path).
    x_arrays, _ = helpers.collect(helpers.load_all((images, labels), 8, image_channels=4)[0])
    np.testing.assert_array_equal(x, x_arrays)
    # At 3 channels, 4 are RGBA as for arrays and folders: the alpha is dropped.
    x, _ = helpers.collect(helpers.load_all(path, 8)[0])
    np.testing.assert_allclose(x, images[..., :3] / 127.5 - 1.0, atol=1e-6)


def test_an_npy_is_unconditional_and_its_content_decides(root, helpers, monkeypatch):
    grey = np.arange(5 * 4 * 4, dtype=np.uint8).reshape(5, 4, 4)
    for name in ("x.npy", "array_saved_as.npz"):  # np.save's bytes under a .npz name
        ds, info = helpers.load_all(_write(f"{root}/{name}", np.save, grey), 4)
        assert info.num_classes is None and info.class_names == ()
        x, y = helpers.collect(ds)
        np.testing.assert_allclose(x, np.repeat(grey[..., None], 3, -1) / 127.5 - 1,
                                   atol=1e-6)
        assert not y.any()
    if "://" not in root:  # ~ is expanded for local paths
        monkeypatch.setenv("HOME", os.path.dirname(root))
        _, info = helpers.load_all(f"~/{os.path.basename(root)}/x.npy", 4)
        assert info.num_examples == 5


def test_float_images_need_their_value_range(tmp_path, helpers):
    images = np.random.RandomState(1).uniform(-1, 1, (4, 6, 6, 3)).astype(np.float32)
    npz = _write(str(tmp_path / "f.npz"), np.savez, images=images,
                 value_range=np.array([-1, 1]))
    x, _ = helpers.collect(helpers.load_all(npz, 6)[0])
    np.testing.assert_allclose(x, images, atol=1e-6)
    npy = _write(str(tmp_path / "f.npy"), np.save, (images + 1) / 2)
    with pytest.raises(ValueError, match=r"`value_range` must be known for the float32 "
                                         r"images of .*f\.npy.*value_range=np\.array"):
        helpers.load_all(npy, 6)
    x, _ = helpers.collect(helpers.load_all(npy, 6, value_range=(0, 1))[0])  # Python
    np.testing.assert_allclose(x, images, atol=1e-6)
    with pytest.raises(ValueError, match=r"must be the file's, \(-1, 1\), or None\. "
                                         r"Received: value_range=\(0, 1\)"):
        helpers.load_all(npz, 6, value_range=(0, 1))
    bad = _write(str(tmp_path / "r.npz"), np.savez, images=images,
                 value_range=np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"`value_range` in a \.npz file must be two"):
        helpers.load_all(bad, 6)


def test_channel_counts_that_do_not_fit_are_refused_naming_the_count(tmp_path):
    path = _write(str(tmp_path / "s.npz"), np.savez, images=np.zeros((2, 4, 4, 6), np.uint8))
    with pytest.raises(checks.ChannelsError, match="pass image_channels=6") as raised:
        data.load_dataset(path, resolution=4, global_batch_size=2)
    assert raised.value.found == 6
    rgb = _write(str(tmp_path / "rgb.npz"), np.savez, images=np.zeros((2, 4, 4, 3), np.uint8))
    with pytest.raises(checks.ChannelsError, match="pass image_channels=3") as raised:
        data.load_dataset(rgb, resolution=4, global_batch_size=2, image_channels=5)
    assert raised.value.found == 3


class _Trap:
    """Unpickling it would create a file: the reader must not unpickle."""

    def __init__(self, path):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_files_that_are_not_numeric_numpy_arrays_are_refused_by_name(tmp_path):
    def refused(path, match):
        with pytest.raises(ValueError, match=match) as raised:
            data.load_dataset(path, resolution=4, global_batch_size=1)
        assert type(raised.value) is ValueError  # no BadZipFile, EOFError, pickle error
        return str(raised.value)

    good = np.zeros((3, 4, 4), np.uint8)
    path = _write(str(tmp_path / "keys.npz"), np.savez, x=good, y=np.zeros(3, np.int64))
    refused(path, r"`dataset` must be a \.npz file with an `images` array.*Received: "
                  r"dataset='.*keys\.npz' with the keys \['x', 'y'\]\. Write it with np\.save")
    path = _write(str(tmp_path / "typo.npz"), np.savez, images=good, label=np.zeros(3, int))
    refused(path, r"with the keys \['images', 'label'\]")
    objects = np.array([None, 1], dtype=object)
    path = _write(str(tmp_path / "o.npy"), np.save, objects, allow_pickle=True)
    refused(path, r"`dataset` must hold numeric arrays.*whose array holds Python objects")
    path = _write(str(tmp_path / "o.npz"), np.savez, images=objects)
    refused(path, r"whose 'images' array holds Python objects \(pickled\)")
    trap = str(tmp_path / "unpickled")
    path = str(tmp_path / "p.npy")
    with open(path, "wb") as f:
        pickle.dump(_Trap(trap), f)
    refused(path, r"`dataset` must be a NumPy file \(\.npy: np\.save; \.npz: np\.savez\)")
    assert not os.path.exists(trap)
    whole = _write(str(tmp_path / "whole.npz"), np.savez, images=good)
    for name, cut in (("cut.npy", None), ("cut.npz", whole)):
        source = cut or _write(str(tmp_path / "whole.npy"), np.save, good)
        with open(source, "rb") as f:
            content = f.read()
        with open(tmp_path / name, "wb") as f:
            f.write(content[:len(content) - 20])
        refused(str(tmp_path / name), r"`dataset` must be a complete NumPy file.*"
                                      r"truncated or damaged")
    refused(str(tmp_path / "none.npz"), r"`dataset` must be an existing \.npy or \.npz "
                                        r"file\. Received: dataset='.*none\.npz', which "
                                        "does not exist")


def test_file_names_it_claims():
    for value in ("x.npz", "./x.NPY", "data/x.npz", "gs://bucket/x.npy", "~/x.npz"):
        assert numpy_file.is_numpy_file_name(value), value
    for value in ("x.npzz", "x", "digits", "./photos", 3):
        assert not numpy_file.is_numpy_file_name(value), value

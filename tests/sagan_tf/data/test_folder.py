"""Tests of sagan_tf.data.folder: image folders (local and on TensorFlow's ram:// filesystem)
against PIL's and NumPy's decoding, corrupt files, and the folder errors."""

import logging
import os

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from sagan_tf import data


def _write_image_folder(root):
    """class_a: gray PNG, RGB PNG, palette GIF; class_b: RGBA PNG, BMP, grayscale PNG in a
    nested folder. Returns {path: (expected [H, W, 3] in [-1, 1], label)}."""
    rng = np.random.RandomState(4)
    expected = {}

    def save(rel, pil_image, label, **kw):
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        pil_image.save(path, **kw)
        # Independent reference: PIL's own decoding, alpha dropped, gray repeated.
        rgb = np.asarray(Image.open(path).convert("RGBA"))[..., :3].astype(np.float64)
        expected[path] = (rgb / 127.5 - 1.0, label)

    rgb = rng.randint(0, 256, (6, 6, 3), dtype=np.uint8)
    save("class_a/gray.png", Image.fromarray(rgb[..., 0]), 0)
    save("class_a/rgb.png", Image.fromarray(rgb), 0)
    save("class_a/pal.gif", Image.fromarray(rgb).convert("P"), 0)
    rgba = rng.randint(0, 256, (6, 6, 4), dtype=np.uint8)
    save("class_b/rgba.PNG", Image.fromarray(rgba), 1)
    save("class_b/rgb.bmp", Image.fromarray(rgb[::-1]), 1)
    save("class_b/deeper/gray2.png", Image.fromarray(rgb[..., 1]), 1)
    with open(os.path.join(root, "class_b", "notes.txt"), "w") as f:
        f.write("not an image")
    return expected


def _corrupt_files(root):
    rng = np.random.RandomState(5)
    bad_png = os.path.join(root, "class_a", "corrupt.png")
    with open(bad_png, "wb") as f:
        f.write(rng.bytes(300))
    # A truncated JPEG: PIL's verify() accepts it, TensorFlow's decoder does not.
    good = os.path.join(root, "full.jpg")
    Image.fromarray(rng.randint(0, 256, (32, 32, 3), dtype=np.uint8)).save(good)
    with open(good, "rb") as f:
        raw = f.read()
    os.remove(good)
    bad_jpg = os.path.join(root, "class_b", "truncated.jpg")
    with open(bad_jpg, "wb") as f:
        f.write(raw[:len(raw) // 2])
    return [bad_png, bad_jpg]


def test_folder_reads_classes_formats_and_skips_corrupt_files(tmp_path, caplog, helpers):
    expected = _write_image_folder(str(tmp_path))
    bad = _corrupt_files(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="sagan_tf.data"):
        ds, info = helpers.load_all(str(tmp_path), 6, global_batch_size=4)
    assert info.num_skipped == 2
    assert info.num_examples == 6
    assert info.class_names == ("class_a", "class_b") and info.num_classes == 2
    assert "Skipped 2 corrupt" in caplog.text and bad[0] in caplog.text
    x, y = helpers.collect(ds)
    # Natural order: class by class, sorted paths within a class.
    order = (sorted(p for p in expected if expected[p][1] == 0)
             + sorted(p for p in expected if expected[p][1] == 1))
    np.testing.assert_array_equal(y, [expected[p][1] for p in order])
    for i, p in enumerate(order):
        np.testing.assert_allclose(x[i], expected[p][0], atol=1e-6, err_msg=p)


def test_folder_resizes_like_pil_and_accepts_pathlike(tmp_path, helpers):
    rng = np.random.RandomState(6)
    img = rng.randint(0, 256, (30, 20, 3), dtype=np.uint8)  # portrait: rows are cropped
    os.makedirs(tmp_path / "only")
    Image.fromarray(img).save(tmp_path / "only" / "a.png")
    ds, info = helpers.load_all(tmp_path, 8)
    x, y = helpers.collect(ds)
    assert x.shape == (1, 8, 8, 3) and info.class_names == ("only",)
    np.testing.assert_allclose(x[0], helpers.pil_resize_crop(img / 127.5 - 1.0, 8), atol=1e-5)


def test_folder_raise_mode_names_the_corrupt_file(tmp_path):
    _write_image_folder(str(tmp_path))
    bad = _corrupt_files(str(tmp_path))
    with pytest.raises(ValueError) as e:
        data.load_dataset(str(tmp_path), resolution=6, global_batch_size=2,
                          on_corrupt="raise")
    assert bad[0] in str(e.value) and bad[1] in str(e.value)
    assert "2 image file(s)" in str(e.value)


def test_folder_errors(tmp_path):
    missing = str(tmp_path / "nope")
    with pytest.raises(ValueError, match="does not exist"):
        data.load_dataset(missing, resolution=4, global_batch_size=1)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError, match=f"{empty}.*is empty"):
        data.load_dataset(str(empty), resolution=4, global_batch_size=1)
    neither = tmp_path / "neither"
    neither.mkdir()
    (neither / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="neither class sub-folders nor image files"):
        data.load_dataset(str(neither), resolution=4, global_batch_size=1)
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(flat / "a.png")
    with pytest.raises(ValueError, match="num_classes`=3 but the folder.*has no classes"):
        data.load_dataset(str(flat), resolution=4, global_batch_size=1, num_classes=3)
    no_images = tmp_path / "no_images"
    (no_images / "cls").mkdir(parents=True)
    (no_images / "cls" / "readme.txt").write_text("x")
    with pytest.raises(ValueError, match="no image files"):
        data.load_dataset(str(no_images), resolution=4, global_batch_size=1)
    only_bad = tmp_path / "only_bad"
    (only_bad / "cls").mkdir(parents=True)
    (only_bad / "cls" / "x.png").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="None of the image files"):
        data.load_dataset(str(only_bad), resolution=4, global_batch_size=1)


def test_flat_folder_is_unconditional_data(tmp_path, helpers):
    """Images directly in the folder: no classes, labels 0, pixels as PIL decodes them."""
    rng = np.random.RandomState(6)
    expected = {}
    for name in ("b.png", "a.PNG", "c.bmp"):
        path = str(tmp_path / name)
        Image.fromarray(rng.randint(0, 256, (6, 6, 3), dtype=np.uint8)).save(path)
        expected[path] = np.asarray(Image.open(path).convert("RGB"), np.float64) / 127.5 - 1
    ds, info = helpers.load_all(str(tmp_path), 6)
    assert info.num_classes is None and info.unconditional and info.class_names == ()
    assert info.num_examples == 3
    x, y = helpers.collect(ds)
    np.testing.assert_array_equal(y, [0, 0, 0])
    for got, path in zip(x, sorted(expected)):  # sorted paths: a.PNG, b.png, c.bmp
        np.testing.assert_allclose(got, expected[path], atol=1e-6)


def test_unconditional_reads_every_image_of_a_class_folder(tmp_path, caplog, helpers):
    expected = _write_image_folder(str(tmp_path))
    Image.fromarray(np.zeros((6, 6), np.uint8)).save(tmp_path / "loose.png")
    with caplog.at_level(logging.WARNING):
        _, info = helpers.load_all(str(tmp_path), 6)
    assert info.num_classes == 2 and info.num_examples == len(expected)
    assert "1 image file(s) directly inside, which are left out" in caplog.text
    ds, info = helpers.load_all(str(tmp_path), 6, unconditional=True)
    assert info.num_classes is None and info.num_examples == len(expected) + 1
    np.testing.assert_array_equal(helpers.collect(ds)[1], np.zeros(len(expected) + 1))
    with pytest.raises(ValueError, match="exclude each other"):
        helpers.load_all(str(tmp_path), 6, unconditional=True, num_classes=2)


# ----------------------------------------------------------------------------- ram://


def _write_png(path, pixels):
    """Writes uint8 `pixels` [H, W, C] as a PNG with tf.io.gfile (any TF filesystem)."""
    tf.io.gfile.makedirs(os.path.dirname(path))
    with tf.io.gfile.GFile(path, "wb") as f:
        f.write(tf.io.encode_png(pixels).numpy())


def test_folder_on_a_tensorflow_filesystem(ram_root, helpers):
    rng = np.random.RandomState(7)
    root = f"{ram_root}/images"
    written = {  # path -> (uint8 pixels [H, W, C], label)
        f"{root}/cat/b.png": (rng.randint(0, 256, (5, 5, 3), dtype=np.uint8), 0),
        f"{root}/cat/a.png": (rng.randint(0, 256, (5, 5, 1), dtype=np.uint8), 0),
        f"{root}/dog/nested/c.png": (rng.randint(0, 256, (5, 5, 4), dtype=np.uint8), 1),
    }
    for path, (pixels, _) in written.items():
        _write_png(path, pixels)
    # Hidden files and folders are left out at every level, as in a local folder.
    hidden = rng.randint(0, 256, (5, 5, 3), dtype=np.uint8)
    for path in (f"{root}/.cache/x.png", f"{root}/dog/.thumbs/y.png", f"{root}/dog/.z.png"):
        _write_png(path, hidden)

    ds, info = helpers.load_all(root, 5)
    assert info.class_names == ("cat", "dog") and info.num_classes == 2
    assert info.num_examples == 3 and info.num_skipped == 0
    x, y = helpers.collect(ds)
    order = sorted(written)  # class by class, sorted paths within a class
    np.testing.assert_array_equal(y, [written[p][1] for p in order])
    for i, path in enumerate(order):
        pixels = written[path][0]
        rgb = np.repeat(pixels, 3, axis=-1) if pixels.shape[-1] == 1 else pixels[..., :3]
        np.testing.assert_allclose(x[i], rgb / 127.5 - 1.0, atol=1e-6, err_msg=path)


def test_folder_errors_on_a_tensorflow_filesystem(ram_root):
    # A URL is a folder, never a TFDS name, even when it does not exist.
    with pytest.raises(ValueError, match=f"{ram_root}/nope.*does not exist"):
        data.load_dataset(f"{ram_root}/nope", resolution=4, global_batch_size=1)
    _write_png(f"{ram_root}/flat/a.png", np.zeros((4, 4, 1), np.uint8))
    _, info = data.load_dataset(f"{ram_root}/flat", resolution=4, global_batch_size=1)
    assert info.unconditional and info.num_examples == 1  # a flat folder: no classes
    with pytest.raises(ValueError, match=r"No data source reads .*a\.png' \(a file, not a "
                                         "directory\)"):
        data.load_dataset(f"{ram_root}/flat/a.png", resolution=4, global_batch_size=1)

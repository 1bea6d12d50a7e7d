"""Tests of sagan_tf.data against independent computations (NumPy scaling, NumPy bilinear
interpolation, PIL decoding and resizing, scikit-learn's digits), never against saved outputs."""

import logging
import os

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds
from PIL import Image
from sklearn.datasets import load_digits

from sagan_tf import data

# ----------------------------------------------------------------------------- helpers


def _collect(ds):
    """All batches of a finite dataset, concatenated to NumPy arrays."""
    xs, ys = [], []
    for x, y in ds:
        xs.append(x.numpy())
        ys.append(y.numpy())
    return np.concatenate(xs), np.concatenate(ys)


def _load_all(source, resolution, **kwargs):
    """Loads a source in its natural order, one epoch, nothing dropped."""
    kwargs.setdefault("global_batch_size", 7)
    return data.load_dataset(source, resolution=resolution, shuffle=False, repeat=False,
                             drop_remainder=False, **kwargs)


def _np_bilinear_upsample(x, out):
    """Bilinear interpolation of [H, W] to [out, out] with half-pixel centers, written from
    the textbook formula (source coordinate (i + 0.5) * in / out - 0.5, clamped)."""
    def weights(n_in):
        src = np.clip((np.arange(out) + 0.5) * n_in / out - 0.5, 0, n_in - 1)
        lo = np.floor(src).astype(int)
        hi = np.minimum(lo + 1, n_in - 1)
        frac = src - lo
        m = np.zeros((out, n_in))
        m[np.arange(out), lo] += 1 - frac
        m[np.arange(out), hi] += frac
        return m
    return weights(x.shape[0]) @ x @ weights(x.shape[1]).T


def _pil_resize_crop(rgb_unit, resolution):
    """Reference for resize-shorter-side + center-crop, using PIL's (antialiased) bilinear
    filter on float images per channel. `rgb_unit` is [H, W, 3] in [-1, 1]."""
    h, w = rgb_unit.shape[:2]
    scale = resolution / min(h, w)
    nh, nw = max(resolution, int(round(h * scale))), max(resolution, int(round(w * scale)))
    chans = [np.asarray(Image.fromarray(rgb_unit[..., c].astype(np.float32), mode="F")
                        .resize((nw, nh), Image.BILINEAR)) for c in range(3)]
    out = np.stack(chans, -1)
    top, left = (nh - resolution) // 2, (nw - resolution) // 2
    return out[top:top + resolution, left:left + resolution]


# ----------------------------------------------------------------------------- digits


def test_digits_values_labels_and_info_at_native_resolution():
    digits = load_digits()
    ds, info = _load_all("digits", 8, split="all", global_batch_size=500)
    x, y = _collect(ds)
    assert x.dtype == np.float32 and y.dtype == np.int32
    assert x.shape == (1797, 8, 8, 3)
    expected = digits.images.astype(np.float32) * (2.0 / 16.0) - 1.0  # 0 -> -1, 16 -> 1
    for c in range(3):
        np.testing.assert_allclose(x[..., c], expected, atol=1e-6)
    np.testing.assert_array_equal(y, digits.target)
    assert x.min() == -1.0 and x.max() == 1.0
    assert info == data.DatasetInfo(num_classes=10, num_examples=1797,
                                    class_names=tuple("0123456789"),
                                    image_shape=(8, 8, 3), num_skipped=0)


def test_digits_resized_bilinear_matches_numpy_interpolation():
    digits = load_digits()
    ds, info = _load_all("digits", 24, split="all", global_batch_size=16)
    x, y = next(iter(ds))
    x = x.numpy()
    assert x.shape == (16, 24, 24, 3) and info.image_shape == (24, 24, 3)
    for i in range(16):
        ref = _np_bilinear_upsample(digits.images[i] / 8.0 - 1.0, 24)
        for c in range(3):
            np.testing.assert_allclose(x[i, ..., c], ref, atol=1e-5)
    assert x.min() >= -1.0 and x.max() <= 1.0
    np.testing.assert_array_equal(y.numpy(), digits.target[:16])


def test_digits_train_test_split_is_a_fixed_stratified_partition():
    digits = load_digits()
    tr_x, tr_y = data.digits_arrays("train")
    te_x, te_y = data.digits_arrays("test")
    assert len(tr_y) + len(te_y) == 1797
    # Each split is a set of rows of the full data; together they are all of it (as a
    # multiset: the digits contain a few duplicate images, so compare sorted rows).
    all_rows = sorted(zip(digits.target.tolist(), (digits.images / 8.0 - 1.0)
                          .astype(np.float32).round(4).reshape(1797, -1).tolist()))
    split_rows = sorted(zip(np.concatenate([tr_y, te_y]).tolist(),
                            np.concatenate([tr_x, te_x])[..., 0].round(4)
                            .reshape(1797, -1).tolist()))
    assert all_rows == split_rows
    # About 20% of every class is held out.
    for c in range(10):
        n_c = int((digits.target == c).sum())
        assert int((te_y == c).sum()) == round(0.2 * n_c)
    # Fixed: the same split every time, and load_dataset yields exactly these examples.
    np.testing.assert_array_equal(data.digits_arrays("test")[1], te_y)
    ds, info = _load_all("digits", 8, split="test")
    x, y = _collect(ds)
    assert info.num_examples == len(te_y)
    np.testing.assert_array_equal(y, te_y)
    np.testing.assert_allclose(x, te_x, atol=1e-6)
    _, info_train = _load_all("digits", 8, split="train")
    assert info_train.num_examples == len(tr_y)


def test_digits_arrays_resize_matches_pipeline():
    x_arr, y_arr = data.digits_arrays("test", resolution=16)
    x, y = _collect(_load_all("digits", 16, split="test", global_batch_size=64)[0])
    np.testing.assert_allclose(x, x_arr, atol=1e-6)
    np.testing.assert_array_equal(y, y_arr)


def test_digits_rejects_unknown_split_and_wrong_num_classes():
    with pytest.raises(ValueError, match="split='validation'"):
        data.load_dataset("digits", resolution=8, global_batch_size=4, split="validation")
    with pytest.raises(ValueError, match="num_classes"):
        data.load_dataset("digits", resolution=8, global_batch_size=4, num_classes=5)


# ----------------------------------------------------------------------------- arrays


def test_uint8_gray_and_rgba_arrays_are_scaled_to_unit_range():
    rng = np.random.RandomState(0)
    gray = rng.randint(0, 256, (6, 5, 5), dtype=np.uint8)
    gray[0, 0, 0], gray[0, 0, 1] = 0, 255
    labels = np.array([0, 1, 2, 0, 1, 2])
    x, y = _collect(_load_all((gray, labels), 5)[0])
    expected = gray.astype(np.float64) / 127.5 - 1.0
    for c in range(3):
        np.testing.assert_allclose(x[..., c], expected, atol=1e-6)
    assert x[0, 0, 0, 0] == -1.0 and x[0, 0, 1, 0] == 1.0
    np.testing.assert_array_equal(y, labels)

    rgba = rng.randint(0, 256, (6, 5, 5, 4), dtype=np.uint8)
    x, _ = _collect(_load_all(rgba, 5, labels=labels)[0])
    np.testing.assert_allclose(x, rgba[..., :3] / 127.5 - 1.0, atol=1e-6)


@pytest.mark.parametrize("value_range", [(0, 1), (-1, 1)])
def test_float_arrays_with_value_range(value_range):
    rng = np.random.RandomState(1)
    lo, hi = value_range
    images = rng.uniform(lo, hi, (4, 6, 6, 3)).astype(np.float64)
    x, _ = _collect(_load_all((images, np.zeros(4, np.int64)), 6,
                              value_range=value_range)[0])
    expected = images * 2 - 1 if value_range == (0, 1) else images
    np.testing.assert_allclose(x, expected, atol=1e-6)


def test_non_square_arrays_are_resized_and_center_cropped_like_pil():
    rng = np.random.RandomState(2)
    images = rng.randint(0, 256, (3, 20, 30, 3), dtype=np.uint8)
    # Shorter side already 20: no resize, the middle 20 of 30 columns are kept.
    x, _ = _collect(_load_all((images, np.arange(3)), 20)[0])
    np.testing.assert_allclose(x, images[:, :, 5:25] / 127.5 - 1.0, atol=1e-6)
    # Down to 8: 20x30 -> 8x12 (antialiased bilinear), then columns 2..10.
    x, _ = _collect(_load_all((images, np.arange(3)), 8)[0])
    for i in range(3):
        np.testing.assert_allclose(x[i], _pil_resize_crop(images[i] / 127.5 - 1.0, 8),
                                   atol=1e-5)
    # Portrait: the middle rows are kept.
    portrait = np.ascontiguousarray(images.transpose(0, 2, 1, 3))  # [3, 30, 20, 3]
    x, _ = _collect(_load_all((portrait, np.arange(3)), 20)[0])
    np.testing.assert_allclose(x, portrait[:, 5:25] / 127.5 - 1.0, atol=1e-6)


def test_array_label_checks():
    images = np.zeros((5, 4, 4), np.uint8)
    with pytest.raises(ValueError, match=r"Label 7 \(at index 2\) is out of range \[0, 3\)"):
        data.load_dataset((images, np.array([0, 1, 7, 2, 0])), resolution=4,
                          global_batch_size=2, num_classes=3)
    with pytest.raises(ValueError, match="Label -1"):
        data.load_dataset((images, np.array([0, 1, -1, 2, 0])), resolution=4,
                          global_batch_size=2, num_classes=3)
    with pytest.raises(ValueError, match="non-negative. Received a label -2"):
        data.load_dataset((images, np.array([0, -2, 1, 2, 0])), resolution=4,
                          global_batch_size=2)
    with pytest.raises(ValueError, match=r"shape \[N\] = \[5\]"):
        data.load_dataset((images, np.array([0, 1])), resolution=4, global_batch_size=2)
    with pytest.raises(ValueError, match="integers"):
        data.load_dataset((images, np.zeros(5, np.float32)), resolution=4,
                          global_batch_size=2)
    with pytest.raises(ValueError, match="labels"):
        data.load_dataset(images, resolution=4, global_batch_size=2)
    # num_classes defaults to max label + 1, and may exceed it.
    _, info = data.load_dataset((images, np.array([0, 1, 4, 2, 0])), resolution=4,
                                global_batch_size=2)
    assert info.num_classes == 5 and info.class_names == ("0", "1", "2", "3", "4")
    _, info = data.load_dataset((images, np.array([0, 1, 4, 2, 0])), resolution=4,
                                global_batch_size=2, num_classes=12)
    assert info.num_classes == 12


def test_array_image_checks():
    labels = np.zeros(3, np.int64)
    with pytest.raises(ValueError, match="rank 2"):
        data.load_dataset((np.zeros((3, 4), np.uint8), labels), resolution=4,
                          global_batch_size=1)
    with pytest.raises(ValueError, match="rank 5"):
        data.load_dataset((np.zeros((3, 4, 4, 3, 1), np.uint8), labels), resolution=4,
                          global_batch_size=1)
    with pytest.raises(ValueError, match="channels"):
        data.load_dataset((np.zeros((3, 4, 4, 2), np.uint8), labels), resolution=4,
                          global_batch_size=1)
    with pytest.raises(ValueError, match="value_range"):
        data.load_dataset((np.zeros((3, 4, 4), np.float32), labels), resolution=4,
                          global_batch_size=1)
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        data.load_dataset((np.full((3, 4, 4), 2.0), labels), resolution=4,
                          global_batch_size=1, value_range=(0, 1))
    with pytest.raises(ValueError, match="dtype int64"):
        data.load_dataset((np.zeros((3, 4, 4), np.int64), labels), resolution=4,
                          global_batch_size=1)
    with pytest.raises(ValueError, match="split='test'"):
        data.load_dataset((np.zeros((3, 4, 4), np.uint8), labels), resolution=4,
                          global_batch_size=1, split="test")


@pytest.mark.parametrize("kwargs, message", [
    (dict(global_batch_size=0), "`global_batch_size` must be a positive int. Received: "
                                "global_batch_size=0"),
    (dict(resolution=0), "`resolution` must be a positive int. Received: resolution=0"),
    (dict(resolution=2.5), "`resolution` must be a positive int. Received: resolution=2.5"),
    (dict(resolution=True), "`resolution` must be a positive int"),
    (dict(on_corrupt="ignore"), "`on_corrupt` must be"),
    (dict(global_batch_size=6), r"`global_batch_size` \(6\) is larger than the number of "
                                r"examples \(5\)"),
])
def test_argument_errors(kwargs, message):
    args = dict(resolution=4, global_batch_size=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        data.load_dataset((np.zeros((5, 4, 4), np.uint8), np.zeros(5, np.int64)), **args)


def test_source_type_error():
    with pytest.raises(TypeError, match="`source` must be"):
        data.load_dataset(3, resolution=4, global_batch_size=2)


# ----------------------------------------------------------------------------- pipeline


def test_shuffle_is_seeded_and_reshuffles_each_epoch():
    def first_labels(seed, n_batches=3):
        ds, _ = data.load_dataset("digits", resolution=8, global_batch_size=100, seed=seed)
        return np.concatenate([y.numpy() for _, y in ds.take(n_batches)])

    a, b, c = first_labels(3), first_labels(3), first_labels(4)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert not np.array_equal(a, data.digits_arrays("train")[1][:300])

    # With repeat, each epoch is a permutation of all examples, in a new order.
    images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1)
    ds, _ = data.load_dataset((images, np.arange(10)), resolution=1, global_batch_size=10,
                              seed=0)
    epochs = [y.numpy() for _, y in ds.take(3)]
    for e in epochs:
        assert sorted(e.tolist()) == list(range(10))
    assert not (np.array_equal(epochs[0], epochs[1]) and np.array_equal(epochs[1], epochs[2]))


def test_random_flip_flips_some_images_left_right():
    rng = np.random.RandomState(3)
    images = rng.randint(0, 256, (40, 5, 5, 3), dtype=np.uint8)
    expected = images / 127.5 - 1.0
    x, y = _collect(_load_all((images, np.arange(40)), 5, random_flip=True, seed=7)[0])
    np.testing.assert_array_equal(y, np.arange(40))
    flipped = []
    for i in range(40):
        if np.allclose(x[i], expected[i], atol=1e-6):
            flipped.append(False)
        else:
            np.testing.assert_allclose(x[i], np.flip(expected[i], axis=1), atol=1e-6)
            flipped.append(True)
    assert 5 < sum(flipped) < 35
    x2, _ = _collect(_load_all((images, np.arange(40)), 5, random_flip=True, seed=7)[0])
    np.testing.assert_array_equal(x, x2)


def test_drop_remainder_and_batch_shapes():
    images = np.zeros((10, 3, 3), np.uint8)
    labels = np.arange(10) % 2
    ds, info = data.load_dataset((images, labels), resolution=4, global_batch_size=4,
                                 shuffle=False, repeat=False)
    assert ds.element_spec[0].shape == (4, 4, 4, 3)
    assert ds.element_spec[1].shape == (4,)
    assert [x.shape[0] for x, _ in ds] == [4, 4]
    assert info.num_examples == 10
    ds, _ = data.load_dataset((images, labels), resolution=4, global_batch_size=4,
                              shuffle=False, repeat=False, drop_remainder=False)
    assert [x.shape[0] for x, _ in ds] == [4, 4, 2]
    # Repeated: batches cross epoch boundaries, always full.
    ds, _ = data.load_dataset((images, labels), resolution=4, global_batch_size=4)
    assert [x.shape[0] for x, _ in ds.take(5)] == [4] * 5


def test_distributes_over_two_replicas():
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    ds, _ = data.load_dataset("digits", resolution=8, global_batch_size=8, seed=0)
    dist = strategy.experimental_distribute_dataset(ds)
    x, y = next(iter(dist))
    per_replica = strategy.experimental_local_results(x)
    assert len(per_replica) == 2
    assert [t.shape for t in per_replica] == [(4, 8, 8, 3), (4, 8, 8, 3)]


# ----------------------------------------------------------------------------- folders


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


def test_folder_reads_classes_formats_and_skips_corrupt_files(tmp_path, caplog):
    expected = _write_image_folder(str(tmp_path))
    bad = _corrupt_files(str(tmp_path))
    with caplog.at_level(logging.WARNING, logger="sagan_tf.data"):
        ds, info = _load_all(str(tmp_path), 6, global_batch_size=4)
    assert info.num_skipped == 2
    assert info.num_examples == 6
    assert info.class_names == ("class_a", "class_b") and info.num_classes == 2
    assert "Skipped 2 corrupt" in caplog.text and bad[0] in caplog.text
    x, y = _collect(ds)
    # Natural order: class by class, sorted paths within a class.
    order = (sorted(p for p in expected if expected[p][1] == 0)
             + sorted(p for p in expected if expected[p][1] == 1))
    np.testing.assert_array_equal(y, [expected[p][1] for p in order])
    for i, p in enumerate(order):
        np.testing.assert_allclose(x[i], expected[p][0], atol=1e-6, err_msg=p)


def test_folder_resizes_like_pil_and_accepts_pathlike(tmp_path):
    rng = np.random.RandomState(6)
    img = rng.randint(0, 256, (30, 20, 3), dtype=np.uint8)  # portrait: rows are cropped
    os.makedirs(tmp_path / "only")
    Image.fromarray(img).save(tmp_path / "only" / "a.png")
    ds, info = _load_all(tmp_path, 8)
    x, y = _collect(ds)
    assert x.shape == (1, 8, 8, 3) and info.class_names == ("only",)
    np.testing.assert_allclose(x[0], _pil_resize_crop(img / 127.5 - 1.0, 8), atol=1e-5)


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
    flat = tmp_path / "flat"
    flat.mkdir()
    Image.fromarray(np.zeros((4, 4), np.uint8)).save(flat / "a.png")
    with pytest.raises(ValueError, match="no class sub-folders"):
        data.load_dataset(str(flat), resolution=4, global_batch_size=1)
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


# ----------------------------------------------------------------------------- TFDS

_TFDS_NAME = "sagan_test_tiny_digits"


class SaganTestTinyDigits(tfds.core.GeneratorBasedBuilder):
    """50 sklearn digits as a real TFDS dataset: 40 train, 10 test."""

    VERSION = tfds.core.Version("1.0.0")
    # TFDS looks for a checksums file next to the builder's code; for a class in a test
    # module of a namespace package that lookup needs `importlib_resources`, which is not
    # installed. The builder downloads nothing, so it has no code path to look in.
    code_path = None

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict({
                "image": tfds.features.Image(shape=(8, 8, 1)),
                "label": tfds.features.ClassLabel(names=[f"d{i}" for i in range(10)]),
            }),
            supervised_keys=("image", "label"))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(0, 40),
                "test": self._generate_examples(40, 50)}

    def _generate_examples(self, start, stop):
        for i, (image, label) in enumerate(_tiny_digits()[start:stop], start):
            yield i, {"image": image[..., None], "label": label}


class SaganTestNoLabels(tfds.core.GeneratorBasedBuilder):
    """Images without a ClassLabel feature."""

    VERSION = tfds.core.Version("1.0.0")
    code_path = None  # as above

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(8, 8, 1)),
            "caption": tfds.features.Text()}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples()}

    def _generate_examples(self):
        for i, (image, _) in enumerate(_tiny_digits()[:3]):
            yield i, {"image": image[..., None], "caption": "a digit"}


def _tiny_digits():
    """The first 50 sklearn digits as uint8 0..255 (round(v * 255 / 16)) with labels."""
    d = load_digits()
    images = np.round(d.images[:50] * 255.0 / 16.0).astype(np.uint8)
    return list(zip(images, d.target[:50].tolist()))


@pytest.fixture(scope="module")
def tfds_dir(tmp_path_factory):
    path = str(tmp_path_factory.mktemp("tfds"))
    SaganTestTinyDigits(data_dir=path).download_and_prepare()
    SaganTestNoLabels(data_dir=path).download_and_prepare()
    return path


def test_tfds_dataset_loaded_by_name_from_data_dir(tfds_dir):
    ds, info = _load_all(_TFDS_NAME, 8, data_dir=tfds_dir, global_batch_size=16)
    assert info.num_examples == 40 and info.num_classes == 10
    assert info.class_names == tuple(f"d{i}" for i in range(10))
    x, y = _collect(ds)
    assert x.shape == (40, 8, 8, 3) and x.dtype == np.float32 and y.dtype == np.int32
    np.testing.assert_array_equal(x[..., 0], x[..., 2])
    # TFDS stores examples in its own order: compare as multisets of (label, pixels).
    got = sorted((int(label), tuple(np.round((img[..., 0] + 1) * 127.5).astype(int).ravel()))
                 for img, label in zip(x, y))
    want = sorted((label, tuple(img.astype(int).ravel()))
                  for img, label in _tiny_digits()[:40])
    assert got == want
    exact = {(lab, img.tobytes()): img for img, lab in _tiny_digits()[:40]}
    for img, label in zip(x, y):
        u8 = np.round((img[..., 0] + 1) * 127.5).astype(np.uint8)
        np.testing.assert_allclose(img[..., 0], exact[(int(label), u8.tobytes())] / 127.5 - 1,
                                   atol=1e-6)

    _, info = _load_all(f"{_TFDS_NAME}:1.0.0", 8, data_dir=tfds_dir, split="test")
    assert info.num_examples == 10
    ds, info = _load_all(_TFDS_NAME, 8, data_dir=tfds_dir, split="train[:50%]+test")
    assert info.num_examples == 30 and len(_collect(ds)[1]) == 30


def test_tfds_shuffled_resized_and_seeded(tfds_dir):
    def first(seed):
        ds, _ = data.load_dataset(_TFDS_NAME, data_dir=tfds_dir, resolution=16,
                                  global_batch_size=8, seed=seed, random_flip=True)
        return [t.numpy() for t in next(iter(ds))]

    (x, y), (x2, y2) = first(1), first(1)
    assert x.shape == (8, 16, 16, 3) and y.shape == (8,)
    np.testing.assert_array_equal(x, x2)
    np.testing.assert_array_equal(y, y2)
    assert -1.0 <= x.min() and x.max() <= 1.0


def test_tfds_errors(tfds_dir, tmp_path):
    with pytest.raises(ValueError, match=r"not prepared.*tfds build " + _TFDS_NAME
                       + f" --data_dir={tmp_path}.*download=True"):
        data.load_dataset(_TFDS_NAME, data_dir=str(tmp_path), resolution=8,
                          global_batch_size=4)
    # download=True prepares an unprepared dataset (this builder generates its data offline).
    _, info = data.load_dataset(_TFDS_NAME, data_dir=str(tmp_path), resolution=8,
                                global_batch_size=4, download=True)
    assert info.num_examples == 40
    with pytest.raises(ValueError, match="Unknown split 'validation'.*'test', 'train'"):
        data.load_dataset(_TFDS_NAME, data_dir=tfds_dir, resolution=8, global_batch_size=4,
                          split="validation")
    with pytest.raises(ValueError, match=r"no top-level ClassLabel feature.*'caption'"):
        data.load_dataset("sagan_test_no_labels", data_dir=tfds_dir, resolution=8,
                          global_batch_size=1)
    with pytest.raises(ValueError, match="not a TFDS dataset known here"):
        data.load_dataset("no_such_dataset_xyz", data_dir=tfds_dir, resolution=8,
                          global_batch_size=4)
    with pytest.raises(ValueError, match="num_classes"):
        data.load_dataset(_TFDS_NAME, data_dir=tfds_dir, resolution=8, global_batch_size=4,
                          num_classes=3)

"""Tests of sagan_tf.data.tfds_source: a real TFDS dataset, prepared offline from scikit-learn's
digits, read by name."""

import numpy as np
import pytest
import tensorflow_datasets as tfds
from sklearn.datasets import load_digits

from sagan_tf import data


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


def test_tfds_dataset_loaded_by_name_from_data_dir(tfds_dir, helpers):
    ds, info = helpers.load_all(_TFDS_NAME, 8, data_dir=tfds_dir, global_batch_size=16)
    assert info.num_examples == 40 and info.num_classes == 10
    assert info.class_names == tuple(f"d{i}" for i in range(10))
    x, y = helpers.collect(ds)
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

    _, info = helpers.load_all(f"{_TFDS_NAME}:1.0.0", 8, data_dir=tfds_dir, split="test")
    assert info.num_examples == 10
    ds, info = helpers.load_all(_TFDS_NAME, 8, data_dir=tfds_dir, split="train[:50%]+test")
    assert info.num_examples == 30 and len(helpers.collect(ds)[1]) == 30


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


def test_tfds_dataset_without_class_labels_is_unconditional(tfds_dir, helpers):
    ds, info = helpers.load_all("sagan_test_no_labels", 8, data_dir=tfds_dir)
    assert info.num_classes is None and info.num_examples == 3
    x, y = helpers.collect(ds)
    np.testing.assert_array_equal(y, [0, 0, 0])
    images = np.stack([image for image, _ in _tiny_digits()[:3]])
    np.testing.assert_allclose(x, np.repeat(images[..., None], 3, -1) / 127.5 - 1,
                               atol=1e-6)
    _, info = helpers.load_all(_TFDS_NAME, 8, data_dir=tfds_dir, unconditional=True)
    assert info.num_classes is None and info.num_examples == 40


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
    with pytest.raises(ValueError, match=r"label_key`='caption' is not an ClassLabel"):
        data.load_dataset("sagan_test_no_labels", data_dir=tfds_dir, resolution=8,
                          global_batch_size=1, label_key="caption")
    with pytest.raises(ValueError, match="not a TFDS dataset known here"):
        data.load_dataset("no_such_dataset_xyz", data_dir=tfds_dir, resolution=8,
                          global_batch_size=4)
    with pytest.raises(ValueError, match="num_classes"):
        data.load_dataset(_TFDS_NAME, data_dir=tfds_dir, resolution=8, global_batch_size=4,
                          num_classes=3)


def test_tfds_resume_skips_whole_epochs_and_gives_the_uninterrupted_batches(tfds_dir):
    """40 examples in batches of 16: batch 7 starts at position 112, in epoch 2 (the
    third) at offset 32; the resumed stream, flips included, is the uninterrupted one."""
    ds, _ = data.load_dataset(_TFDS_NAME, data_dir=tfds_dir, resolution=8,
                              global_batch_size=16, seed=3, random_flip=True)
    full = [(x.numpy(), y.numpy()) for x, y in ds.take(10)]
    for start in (2, 7):
        resumed = [(x.numpy(), y.numpy())
                   for x, y in data.resume_dataset(ds, start).take(10 - start)]
        for (x, y), (x_ref, y_ref) in zip(resumed, full[start:]):
            np.testing.assert_array_equal(y, y_ref)
            np.testing.assert_array_equal(x, x_ref)
    # Every epoch holds every example once, each epoch in another order.
    labels = np.concatenate([y for _, y in full])
    epochs = [labels[40 * e:40 * (e + 1)] for e in range(4)]
    for e in epochs:
        assert sorted(e.tolist()) == sorted(label for _, label in _tiny_digits()[:40])
    assert not np.array_equal(epochs[0], epochs[1])
    # Batch 10**9 (epoch 4 * 10**8): there at once, the epochs before it not read.
    (x, y), = list(data.resume_dataset(ds, 10**9).take(1))
    assert x.shape == (16, 8, 8, 3) and y.shape == (16,)
    # One epoch (repeat=False) keeps its known number of batches.
    ds, _ = data.load_dataset(_TFDS_NAME, data_dir=tfds_dir, resolution=8,
                              global_batch_size=16, seed=3, repeat=False,
                              drop_remainder=False)
    assert int(ds.cardinality()) == 3 and int(data.resume_dataset(ds, 2).cardinality()) == 1

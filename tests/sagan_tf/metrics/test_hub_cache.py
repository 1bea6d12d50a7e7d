"""Tests of sagan_tf.metrics.hub_cache: finding modules where tensorflow_hub caches them, as
tensorflow_hub itself resolves them."""

import hashlib
import os
import shutil
import tempfile
import uuid

import numpy as np
import tensorflow as tf

from sagan_tf.metrics import classifier_loaders
from sagan_tf.metrics import hub_cache

SMALL_SIZE = 16  # Stand-in for Inception's 299, to keep the tests fast.


def hub_layout(cache_dir, handle, module_dir_source):
    """Lays out a downloaded module (a copy of `module_dir_source`) as tensorflow_hub's
    compressed resolver does: in the SHA-1 hex digest of the handle, with a descriptor."""
    folder = hashlib.sha1(handle.encode("utf8")).hexdigest()
    module_dir = os.path.join(cache_dir, folder)
    shutil.copytree(module_dir_source, module_dir)
    with open(module_dir + ".descriptor.txt", "w") as f:
        f.write(f"Module: {handle}\nDownload Time: 2024-01-01\n")
    return module_dir


def test_inception_from_a_hub_cache_directory(tmp_path, monkeypatch, random_images,
                                               fake_inception_dir):
    cache_dir = str(tmp_path / "tfhub_cache")
    module_dir = hub_layout(cache_dir, classifier_loaders.INCEPTION_HANDLE,
                            fake_inception_dir)
    monkeypatch.setenv("TFHUB_CACHE_DIR", cache_dir)
    monkeypatch.delenv("TFHUB_MODEL_LOAD_FORMAT", raising=False)

    # tensorflow_hub itself resolves the handle to this directory (it finds the
    # module in its cache, so it does not try the network).
    import tensorflow_hub
    assert os.path.samefile(tensorflow_hub.resolve(classifier_loaders.INCEPTION_HANDLE),
                            module_dir)
    assert hub_cache.find_in_hub_cache(classifier_loaders.INCEPTION_HANDLES) == module_dir

    classifier = classifier_loaders.load_classifier("inception", input_size=SMALL_SIZE)
    assert classifier.name == "inception"
    images = random_images(2, SMALL_SIZE)
    expected = tf.saved_model.load(module_dir)(images)
    np.testing.assert_allclose(classifier(images)[0], expected["logits"], rtol=1e-5)

    # A handle URL is looked up the same way; an explicit cache dir wins.
    monkeypatch.delenv("TFHUB_CACHE_DIR")
    assert classifier_loaders.load_classifier(classifier_loaders.INCEPTION_HANDLE,
                                              input_size=SMALL_SIZE,
                                              hub_cache_dir=cache_dir).num_classes == 7


def test_default_hub_cache_dir_agrees_with_tensorflow_hub(tmp_path, monkeypatch):
    from tensorflow_hub import resolver

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path))
    assert hub_cache.default_hub_cache_dir() == resolver.tfhub_cache_dir(
        use_temp=True)
    monkeypatch.delenv("TFHUB_CACHE_DIR")
    assert hub_cache.default_hub_cache_dir() == resolver.tfhub_cache_dir(
        use_temp=True)
    # Without the variable: the temporary directory (no absl flag is read).
    assert hub_cache.default_hub_cache_dir() == os.path.join(tempfile.gettempdir(),
                                                             "tfhub_modules")


def test_handles_are_tried_in_order_and_empty_folders_are_not_downloads(tmp_path):
    cache_dir = str(tmp_path)
    first, second = "https://example.com/module/1", "https://example.com/module/2"
    assert hub_cache.find_in_hub_cache([first, second], cache_dir) is None
    # An empty folder is an unfinished download.
    os.makedirs(os.path.join(cache_dir, hashlib.sha1(first.encode()).hexdigest()))
    assert hub_cache.find_in_hub_cache(first, cache_dir) is None
    second_dir = os.path.join(cache_dir, hashlib.sha1(second.encode()).hexdigest())
    os.makedirs(second_dir)
    with open(os.path.join(second_dir, "saved_model.pb"), "wb"):
        pass
    assert hub_cache.find_in_hub_cache([first, second], cache_dir) == second_dir


def test_cache_on_a_tensorflow_filesystem():
    cache_dir = f"ram://sagan_test_{uuid.uuid4().hex}/tfhub_modules"
    handle = "https://example.com/module/1"
    module_dir = f"{cache_dir}/{hashlib.sha1(handle.encode()).hexdigest()}"
    try:
        tf.io.gfile.makedirs(module_dir)
        assert hub_cache.find_in_hub_cache(handle, cache_dir) is None
        with tf.io.gfile.GFile(f"{module_dir}/saved_model.pb", "wb") as f:
            f.write(b"")
        assert hub_cache.find_in_hub_cache(handle, cache_dir) == module_dir
    finally:
        tf.io.gfile.rmtree(cache_dir.rsplit("/", 1)[0])

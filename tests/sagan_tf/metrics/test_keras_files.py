"""Tests of sagan_tf.metrics.keras_files: .keras files saved and loaded locally and on
TensorFlow's in-memory ram:// filesystem, checked against NumPy's affine map."""

import io
import os
import zipfile

import keras
import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.metrics import keras_files


def _affine_model(seed):
    keras.utils.set_random_seed(seed)
    return keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense",
                                                                   bias_initializer="ones")])


@pytest.mark.parametrize("where", ["local", "ram"])
def test_save_load_and_replace(where, tmp_path, ram_root):
    root = str(tmp_path) if where == "local" else ram_root
    directory = os.path.join(root, "models", "nested")  # created by the save
    path = os.path.join(directory, "affine.keras")
    x = np.random.default_rng(0).normal(size=(4, 3)).astype(np.float32)
    for seed in (0, 1):  # the second save replaces the first file
        model = _affine_model(seed)
        keras_files.save_keras_file(model, path)
        assert tf.io.gfile.listdir(directory) == ["affine.keras"]  # no temporary left
        with tf.io.gfile.GFile(path, "rb") as f:
            assert zipfile.is_zipfile(io.BytesIO(f.read()))
        loaded = keras_files.load_keras_file(path)
        kernel, bias = model.get_layer("dense").get_weights()
        for a, b in zip(loaded.get_weights(), (kernel, bias)):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_allclose(loaded(x), x @ kernel + bias, rtol=1e-6, atol=1e-6)

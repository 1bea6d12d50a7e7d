"""sagan-train --dataset=x.npz end to end, in a subprocess: a 4-band array trains a
4-channel model (tiny widths, 2 steps). A file whose bands the model cannot read is
refused naming the flags: tests/training/test_pipeline.py."""

import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.run_dir import RunDir

TINY = ["--g_channels=8,8,8", "--d_channels=8,8,8,8", "--attention=", "--batch_size=4",
        "--steps=2", "--sample_every=1000", "--log_every=1"]


def _train(model_dir, dataset, *flags):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    proc = subprocess.run(["sagan-train", f"--model_dir={model_dir}", f"--dataset={dataset}",
                           *TINY, *flags], capture_output=True, text=True, env=env,
                          timeout=300, check=False)
    return proc.returncode, proc.stderr


# 35 s: slow. integration/test_multispectral trains and exports a 4-band model, and has
# RGB classifiers refuse it.
@pytest.mark.slow
def test_an_npz_of_four_bands_trains_a_four_channel_model(tmp_path):
    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (8, 32, 32, 4)).astype(np.uint8)
    path = str(tmp_path / "bands.npz")
    np.savez(path, images=images, labels=np.arange(8) % 2)
    model_dir = str(tmp_path / "run")
    code, err = _train(model_dir, path, "--g_image_channels=4", "--d_image_channels=4")
    assert code == 0, err[-3000:]
    assert f"Data {path!r}: 8 examples in 2 classes, 32x32 pixels" in err
    generator, config, _ = RunDir(model_dir).load_generator(use_ema=True)
    assert config.dataset == path and config.image_channels == 4
    assert config.num_classes == 2 and config.class_names == ("0", "1")
    z = tf.random.stateless_normal([2, 128], seed=[1, 2])
    out = generator([z, tf.constant([0, 1])], training=False).numpy()
    assert out.shape == (2, 32, 32, 4) and np.isfinite(out).all()


"""Tests of sagan_tf.evaluation.real_data: the real images of an evaluation come from the
source's row (a .npz file: the whole file, as for folders) and are read with the run's
channels and crop; a 4-band .npz run is evaluated with its own domain classifier."""

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf import evaluation
from sagan_tf.checkpoints import make_checkpoint
from sagan_tf.data import load_dataset
from sagan_tf.evaluation import real_data
from sagan_tf.models import build_model, compile_model
from sagan_tf.run_dir import RunDir
from sagan_tf.train_config import TrainConfig

BANDS = 4
NETS = dict(channels=[8, 8, 8], attention_resolutions=[], image_channels=BANDS)


@pytest.fixture
def npz(tmp_path):
    """10 images of 4 bands, 32x16 (not square), 2 classes."""
    images = np.random.RandomState(0).randint(0, 256, (10, 32, 16, BANDS)).astype(np.uint8)
    path = str(tmp_path / "bands.npz")
    np.savez(path, images=images, labels=np.arange(10) % 2)
    return path


def _sorted(batches):
    images = np.concatenate([np.asarray(x) for x, _ in batches])
    return images[np.lexsort(images.reshape(len(images), -1).T)]


def test_the_whole_file_with_the_runs_channels_and_crop(npz):
    assert real_data.default_real_split(npz) == "train"
    assert real_data.default_test_split(npz) is None
    config = TrainConfig(model_dir="unused", dataset=npz, crop="none",
                         generator_overrides=NETS,
                         discriminator_overrides={**NETS, "channels": [8] * 4})
    read = real_data.read_as(config)
    assert read == dict(image_channels=BANDS, crop="none") and real_data.read_as(None) == {}
    expected, _ = load_dataset(npz, resolution=32, global_batch_size=10, shuffle=False,
                               repeat=False, **read)
    batches = list(real_data.real_batches(npz, 32, 4, seed=1, **read))
    assert [x.shape[0] for x, _ in batches] == [4, 4, 2]  # all 10, in batches of 4
    np.testing.assert_array_equal(_sorted(batches), _sorted(expected))
    assert batches[0][0].shape[-1] == BANDS
    labelled = list(real_data.labelled_data(npz, "train", 32, seed=None, **read))
    np.testing.assert_array_equal(_sorted(labelled), _sorted(expected))


def test_a_four_band_npz_run_is_evaluated_with_its_domain_classifier(npz, tmp_path):
    model_dir = str(tmp_path / "run")
    config = TrainConfig(model_dir=model_dir, dataset=npz, num_classes=2,
                         class_names=("0", "1"), crop="none", generator_overrides=NETS,
                         discriminator_overrides={**NETS, "channels": [8] * 4})
    model = build_model(config)
    compile_model(model, config)
    RunDir(model_dir).save_config(config)
    tf.train.CheckpointManager(make_checkpoint(model), RunDir(model_dir).checkpoints,
                               1).save()
    results = evaluation.run_evaluation(evaluation.EvalSettings(
        model_dir=model_dir, num_samples=12, batch_size=6, domain_epochs=1,
        progress=False), verbose=0)
    assert results["dataset"] == npz and results["real_split"] == "train"
    assert results["num_real_samples"] == 10  # the whole file
    assert np.isfinite(results["fid"]) and np.isfinite(results["kid"])

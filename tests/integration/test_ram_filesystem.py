"""train -> resume -> export -> sample -> eval with every path on TF's in-memory
filesystem (`ram://`): model_dir, export_base, the image folder and the outputs.

`ram://` exists only inside this process, so everything runs in-process, and a local
call (`open`, `os.makedirs`, ...) on one of these paths would fail or write a local
`ram:` folder, which the test checks for.
"""

import os
import uuid

import numpy as np
import pytest
import tensorflow as tf

from export import exporter, sampling
from sagan_tf import evaluation, storage
from sagan_tf.data import digits_arrays
from sagan_tf.run_dir import RunDir
from sagan_tf.train_config import TrainConfig
from training import pipeline, trainer
from training import strategy as strategy_lib
from sagan_tf.callbacks.loss_csv_logger import read_losses

TINY = dict(generator_overrides=dict(channels=[16, 16, 16]),
            discriminator_overrides=dict(channels=[16, 16, 16, 16]))


def _write_folder(root, per_class=12):
    """Digits 0-2 as 8x8 PNGs in class sub-folders; returns the images by class."""
    images, labels = digits_arrays("train", 8)
    out = {}
    for c in range(3):
        pixels = np.round((images[labels == c][:per_class] + 1) * 127.5).astype(np.uint8)
        out[c] = pixels
        for i, image in enumerate(pixels):
            path = storage.join(root, f"class_{c}", f"{i:03d}.png")
            storage.write_atomically(path, tf.io.encode_png(image).numpy())
    return out


def _train(config):
    strategy = strategy_lib.create(config)
    dataset, config = pipeline.load(config)
    model = trainer.build(config, strategy)
    return trainer.fit(config, strategy, dataset, model)[0], config


# A whole run (75 s): slow. ram:// paths stay in the default run in test_storage, test_formats
# and test_sample_folder.
@pytest.mark.slow
def test_a_whole_run_lives_on_ram_filesystem(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # a local write would land here
    base = f"ram://sagan-{uuid.uuid4().hex[:8]}"
    folder, model_dir, export_base = (storage.join(base, name)
                                      for name in ("images", "run", "serving"))
    _write_folder(folder)

    config = TrainConfig(model_dir=model_dir, dataset=folder, batch_size=6, steps=2,
                         checkpoint_every=1, sample_every=2, log_every=1, **TINY)
    step, config = _train(config)
    assert step == 2 and config.class_names == ("class_0", "class_1", "class_2")
    step, _ = _train(config.replace(steps=3))  # resumes from the run directory
    assert step == 3
    run = RunDir(model_dir)
    assert run.load_config().steps == 3
    assert read_losses(run.losses)["step"] == [1, 2, 3]
    assert storage.exists(storage.join(run.samples, "latest.png"))
    assert tf.io.gfile.glob(storage.join(run.train_logs, "events.out.tfevents.*"))

    version_dir = exporter.export_model_dir(model_dir, export_base)
    assert version_dir == storage.join(export_base, "1")
    assert storage.exists(storage.join(export_base, "1", "saved_model.pb"))
    assert storage.exists(storage.join(export_base, exporter.MODEL_CONFIG_FILE))

    from_export = sampling.Sampler.from_saved_model(export_base)
    from_run = sampling.Sampler.from_model_dir(model_dir)
    sheet = sampling.class_grid(from_export, per_class=2, seed=4)
    np.testing.assert_allclose(sheet.images, sampling.class_grid(from_run, 2, seed=4).images,
                               atol=1e-5)
    grid_path = storage.join(base, "out", "grid.png")
    sampling.save_sheet(sheet, grid_path)
    np.testing.assert_array_equal(tf.io.decode_png(storage.read_bytes(grid_path)).numpy(),
                                  sheet.grid)

    results = evaluation.run_evaluation(evaluation.EvalSettings(
        model_dir=model_dir, classifier="domain", num_samples=9, batch_size=9,
        domain_epochs=1, progress=False), verbose=0)
    assert np.isfinite(results["fid"]) and results["num_classes"] == 3
    assert storage.exists(run.domain_classifier)
    assert os.listdir(tmp_path) == []  # nothing was written locally

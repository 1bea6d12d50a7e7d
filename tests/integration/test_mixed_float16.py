"""--mixed_precision=mixed_float16 end to end: a tiny run trains with dynamic loss
scaling, keeps spectral norm and batch-norm statistics in float32, ends with finite
weights, and exports and samples images."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from export.exporter import export_model_dir
from export.sampling import Sampler
from sagan_tf.train_config import TrainConfig
from training import pipeline, trainer
from sagan_tf.divergence import state_variables


@pytest.mark.slow  # a training run, an export and two samplers: about 7 min on 2 busy cores
def test_a_mixed_float16_run_trains_exports_and_samples(tmp_path):
    config = TrainConfig(model_dir=str(tmp_path / "run"), batch_size=8, steps=3,
                         mixed_precision="mixed_float16", grad_accum=2,
                         checkpoint_every=100, sample_every=100, log_every=1,
                         generator_overrides=dict(channels=[8, 8, 8]),
                         discriminator_overrides=dict(channels=[8, 8, 8, 8]))
    strategy = tf.distribute.get_strategy()
    try:
        dataset, config = pipeline.load(config)
        model = trainer.build(config, strategy)
        assert trainer.fit(config, strategy, dataset, model) == (3, None)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    for optimizer in (model.g_optimizer, model.d_optimizer):
        assert isinstance(optimizer, keras.optimizers.LossScaleOptimizer)
        assert int(optimizer.iterations.numpy()) == 3  # 3 updates: accumulation is in-step
    # Layers compute in float16; every variable (kernels, SN u, BN moving statistics,
    # optimizer state) is float32 and finite.
    for network in (model.generator, model.discriminator):
        assert sum(layer.compute_dtype == "float16" for layer in network.layers) > 3
    variables = state_variables(model)
    names = list(variables)
    assert any(n.endswith("sn_u") for n in names)
    assert any("moving_mean" in n or "moving_var" in n for n in names)
    for name, v in variables.items():
        assert v.dtype == "float32", name
        assert np.isfinite(v.numpy()).all(), name
    assert float(model.g_optimizer.dynamic_scale.numpy()) > 1

    version = export_model_dir(config.model_dir, str(tmp_path / "export"))
    exported = Sampler.from_saved_model(version)
    restored = Sampler.from_model_dir(config.model_dir)
    z = exported.latents(seed=3, num=4)
    labels = np.array([0, 1, 2, 3], np.int32)
    images = np.asarray(exported.images(z, labels))
    assert images.shape == (4, 32, 32, 3) and np.isfinite(images).all()
    assert np.abs(images).max() <= 1.0 and images.std() > 0
    np.testing.assert_allclose(images, np.asarray(restored.images(z, labels)), atol=2e-3)

"""Tests of sagan_tf.standing_stats: the standing mean and variance against NumPy over
the same passes; nothing else in G moves; the checkpoint on disk stays as it is."""

import hashlib
import os

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf import evaluation, noise
from sagan_tf.checkpoints import make_checkpoint
from sagan_tf.run_dir import RunDir
from sagan_tf.standing_stats import apply_standing_stats, batch_norms
from sagan_tf.models import build_generator, build_model, compile_model
from sagan_tf.train_config import TrainConfig

NUM_CLASSES = 3
CONFIG = dict(num_classes=NUM_CLASSES, class_names=("a", "b", "c"), batch_size=6,
              generator_overrides=dict(channels=[8, 8, 8]),
              discriminator_overrides=dict(channels=[8, 8, 8, 8]))


def _generator(seed=0):
    tf.keras.utils.set_random_seed(seed)
    generator = build_generator(TrainConfig(model_dir="unused", **CONFIG))
    rng = np.random.RandomState(seed)
    for v in generator.variables:  # trained-looking statistics and class tables
        if v.path.endswith(("moving_mean", "/gain", "/bias")):
            v.assign(v.numpy() + rng.normal(0, 0.3, v.shape).astype("float32"))
    return generator


def _record_inputs(norms):
    """Wraps each batch norm's `moments` to record its (float64) input per call."""
    seen = {id(bn): [] for bn in norms}
    for bn in norms:
        def moments(x, training, bn=bn, original=bn.moments):
            if training:
                seen[id(bn)].append(np.asarray(x, np.float64).reshape(-1, x.shape[-1]))
            return original(x, training)
        bn.moments = moments
    return seen


def test_standing_statistics_are_the_numpy_average_of_the_passes_batch_statistics():
    generator = _generator()
    norms = batch_norms(generator)
    assert len(norms) == 7  # 2 per block (inside the CBNs) x 3 blocks + the last one
    before = {v.path: v.numpy() for v in generator.variables}
    inputs = _record_inputs(norms)
    assert apply_standing_stats(generator, 4, 6, NUM_CLASSES, seed=5) == 7
    for bn in norms:
        passes = inputs[id(bn)]
        assert len(passes) == 4
        np.testing.assert_allclose(bn.moving_mean.numpy(),
                                   np.mean([x.mean(axis=0) for x in passes], axis=0),
                                   rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bn.moving_variance.numpy(),
                                   np.mean([x.var(axis=0) for x in passes], axis=0),
                                   rtol=1e-4, atol=1e-6)
        assert bn.momentum == 0.9  # as it was
    for v in generator.variables:
        if "moving_" not in v.path:  # weights, class tables, spectral-norm u vectors
            np.testing.assert_array_equal(v.numpy(), before[v.path], err_msg=v.path)
        else:
            assert not np.allclose(v.numpy(), before[v.path]), v.path

    # The passes are those the docstring names. The first batch norm (block 1's) sees
    # the dense layer's output (training mode: after one power iteration) of pass 0's z.
    again = _generator()
    z = noise.latents(5, 24, 128, stream=noise.STANDING_STATS)[:6]
    first = tf.reshape(again.get_layer("dense")(z, training=True), [6, 4, 4, -1]).numpy()
    np.testing.assert_allclose(inputs[id(norms[0])][0].mean(axis=0),
                               first.reshape(-1, first.shape[-1]).mean(axis=0), atol=1e-5)
    # Without the restore, training mode would have moved the u vectors.
    assert not np.allclose(again.get_layer("dense").u.numpy(), before["dense/sn_u"])


def test_an_unconditional_generator_runs_on_z_alone():
    config = TrainConfig(model_dir="unused", batch_size=4, unconditional=True,
                         **{k: v for k, v in CONFIG.items()
                            if k not in ("num_classes", "class_names", "batch_size")})
    generator = build_generator(config)
    assert len(generator.inputs) == 1
    inputs = _record_inputs(batch_norms(generator))
    assert apply_standing_stats(generator, 2, 4, None) == 7
    bn = batch_norms(generator)[-1]
    passes = inputs[id(bn)]
    np.testing.assert_allclose(bn.moving_variance.numpy(),
                               np.mean([x.var(axis=0) for x in passes], axis=0), rtol=1e-4)


def test_invalid_arguments():
    generator = _generator()
    with pytest.raises(ValueError, match="`num_passes` must be a positive integer"):
        apply_standing_stats(generator, 0, 4, NUM_CLASSES)
    with pytest.raises(ValueError, match="batch_size=True"):
        apply_standing_stats(generator, 2, True, NUM_CLASSES)
    dense = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)], name="d")
    with pytest.raises(ValueError, match="no batch norm"):
        apply_standing_stats(dense, 2, 4, NUM_CLASSES)


def _digests(directory):
    return {name: hashlib.sha256(open(os.path.join(directory, name), "rb").read()).hexdigest()
            for name in sorted(os.listdir(directory))}


def test_a_run_dirs_generator_gets_them_and_its_checkpoint_stays_as_it_was(tmp_path):
    config = TrainConfig(model_dir=str(tmp_path), ema_decay=None, **CONFIG)
    model = build_model(config)
    compile_model(model, config)
    model.generator.set_weights(_generator().get_weights())
    RunDir(str(tmp_path)).save_config(config)
    tf.train.CheckpointManager(make_checkpoint(model), RunDir(str(tmp_path)).checkpoints,
                               1).save()
    on_disk = _digests(RunDir(str(tmp_path)).checkpoints)
    standing, _, _ = RunDir(str(tmp_path)).load_generator(standing_stats=3)
    assert _digests(RunDir(str(tmp_path)).checkpoints) == on_disk
    trained, _, _ = RunDir(str(tmp_path)).load_generator()
    z, labels = noise.latents(1, 6, 128), tf.range(6) % NUM_CLASSES
    trained_images = trained([z, labels], training=False).numpy()
    # The same passes in this process: the run's batch size, seed 0.
    apply_standing_stats(trained, 3, config.batch_size, NUM_CLASSES, seed=0)
    for a, b in zip(standing.variables, trained.variables):
        np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)
    images = standing([z, labels], training=False).numpy()
    assert np.abs(images - trained_images).max() > 1e-3
    # sagan-eval's generator (--standing_stats=3) is this one.
    source = evaluation.from_run_dir(str(tmp_path), standing_stats=3)
    np.testing.assert_array_equal(np.asarray(source.call(z, labels)), images)
    with pytest.raises(ValueError, match="--standing_stats needs --model_dir"):
        evaluation.run_evaluation(evaluation.EvalSettings(saved_model=str(tmp_path),
                                                          standing_stats=3))
    with pytest.raises(ValueError, match="standing_stats=-1"):
        evaluation.EvalSettings(model_dir=str(tmp_path), standing_stats=-1)

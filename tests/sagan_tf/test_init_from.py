"""sagan_tf.init_from: a new run's step-0 weights against the source's, the class tables
of another class count, FreezeD, and the refusals."""

import logging

import keras
import numpy as np
import pytest
import tensorflow as tf

from sagan_tf import compat, init_from
from sagan_tf.data import load_dataset
from sagan_tf.checkpoints import make_checkpoint
from sagan_tf.run_dir import RunDir
from sagan_tf.models import build_model, compile_model
from sagan_tf.train_config import TrainConfig

TINY = dict(generator_overrides=dict(channels=[16, 16, 16]),
            discriminator_overrides=dict(channels=[16, 16, 16, 16]), batch_size=8)


def _config(model_dir, num_classes=10, **changes):
    classes = {} if changes.get("unconditional") else dict(
        num_classes=num_classes, class_names=tuple(str(i) for i in range(num_classes)))
    return TrainConfig(model_dir=str(model_dir), **{**TINY, **classes, **changes})


def _model(config, seed=0):
    keras.utils.set_random_seed(seed)
    model = build_model(config)
    init_from.freeze_discriminator_blocks(model.discriminator, config.freeze_d_blocks)
    compile_model(model, config)
    return model


def _source(tmp_path, name="source", **changes):
    """A source run: its config.json and one checkpoint of weights that are none of
    the initial ones (G, EMA and D each set to their own random values)."""
    config = _config(tmp_path / name, **changes)
    model = _model(config, seed=1)
    rng = np.random.default_rng(7)
    for network in (model.generator, model.ema_generator, model.discriminator):
        for w in network.weights if network is not None else ():
            w.assign(rng.normal(size=w.shape).astype(np.float32))
    RunDir(config.model_dir).save_config(config)
    prefix = tf.train.CheckpointManager(make_checkpoint(model), RunDir(
        config.model_dir).checkpoints, max_to_keep=1).save(checkpoint_number=5)
    return config, model, prefix


def _values(network):
    return {w.path: np.array(w.numpy()) for w in network.weights}


def _new_run(tmp_path, source_config, **changes):
    config = init_from.resolve(_config(tmp_path / "new", init_from=source_config.model_dir,
                                       **changes))
    model = _model(config)
    return config, model


def test_the_new_runs_step_0_weights_are_the_sources(tmp_path):
    source_config, source, prefix = _source(tmp_path)
    config, model = _new_run(tmp_path, source_config)
    assert config.init_from_checkpoint == prefix  # recorded in config.json
    assert init_from.initialize(model, config) == []  # no class table kept
    for mine, theirs in ((model.generator, source.generator),
                         (model.ema_generator, source.ema_generator),
                         (model.discriminator, source.discriminator)):
        expected, got = _values(theirs), _values(mine)
        assert set(got) == set(expected)
        for path in expected:  # copied, not computed: exactly equal
            np.testing.assert_array_equal(got[path], expected[path], err_msg=path)
    assert int(model.g_optimizer.iterations.numpy()) == 0
    assert not any(np.any(v.numpy()) for v in model.d_optimizer.variables[2:])  # fresh


def test_a_checkpoint_prefix_names_the_source_too(tmp_path):
    source_config, source, prefix = _source(tmp_path)
    config = init_from.resolve(_config(tmp_path / "new", init_from=prefix))
    assert config.init_from_checkpoint == prefix
    model = _model(config)
    init_from.initialize(model, config)
    np.testing.assert_array_equal(model.generator.weights[0].numpy(),
                                  source.generator.weights[0].numpy())


def test_another_class_count_starts_only_the_class_tables_afresh(tmp_path, caplog):
    source_config, source, _ = _source(tmp_path)
    config, model = _new_run(tmp_path, source_config, num_classes=3)
    before = {net.name: _values(net) for net in
              (model.generator, model.ema_generator, model.discriminator)}
    with caplog.at_level(logging.INFO):
        kept = init_from.initialize(model, config)
    # The class tables, found by name here (not by init_from's layer types): the CBN
    # gains and biases and D's projection embedding (with its u).
    tables = {f"{net}/{path}" for net, values in before.items() for path in values
              if ("/cbn_" in path and path.rsplit("/", 1)[1] in ("gain", "bias"))
              or path.startswith("projection/embed/")}
    assert set(kept) == tables and len(tables) == 2 * 2 * 3 * 2 + 2
    assert "the class tables start afresh" in caplog.text and "10 classes" in caplog.text
    for mine, theirs in ((model.generator, source.generator),
                         (model.ema_generator, source.ema_generator),
                         (model.discriminator, source.discriminator)):
        for path, value in _values(mine).items():
            if f"{mine.name}/{path}" in tables:  # as initialised: untouched
                np.testing.assert_array_equal(value, before[mine.name][path])
                assert value.shape[0] in (3, 1)  # the new class count (u: [1, C])
            else:
                np.testing.assert_array_equal(value, _values(theirs)[path], err_msg=path)


def test_the_optimizers_moments_come_along_when_asked(tmp_path):
    source_config, source, _ = _source(tmp_path)
    rng = np.random.default_rng(3)
    for optimizer in (source.g_optimizer, source.d_optimizer):
        for v in optimizer.variables:
            dtype = np.dtype(v.dtype)  # the step counter: an integer, made nonzero
            v.assign(rng.integers(1, 9, size=v.shape).astype(dtype) if dtype.kind == "i"
                     else rng.uniform(0.1, 1.0, size=v.shape).astype(dtype))
    prefix = tf.train.CheckpointManager(make_checkpoint(source), RunDir(
        source_config.model_dir).checkpoints, max_to_keep=2).save(checkpoint_number=6)
    config, model = _new_run(tmp_path, source_config, init_optimizers=True)
    assert config.init_from_checkpoint == prefix
    init_from.initialize(model, config)
    for mine, theirs in ((model.g_optimizer, source.g_optimizer),
                         (model.d_optimizer, source.d_optimizer)):
        assert int(mine.iterations.numpy()) == 0  # a new run at step 0
        for a, b in zip(mine.variables, theirs.variables):
            if a is not mine.iterations:
                np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=a.path)


@pytest.mark.slow  # 22 s of fits; the block-range checks stay default
def test_frozen_discriminator_blocks_do_not_move(tmp_path):
    config = _config(tmp_path / "run", freeze_d_blocks=2, d_lr=1e-2)
    model = _model(config)
    frozen = {w.path for layer in model.discriminator.layers[:4] for w in layer.weights}
    names = {p.split("/")[0] for p in frozen}
    assert names == {"block1", "attention16", "block2"}  # the attention between them
    trainable_paths = {w.path for w in model.discriminator.trainable_weights}
    assert not trainable_paths & frozen
    before = _values(model.discriminator)
    data = load_dataset("digits", resolution=32, global_batch_size=8, seed=0)[0]
    model.fit(data.take(2), epochs=1, verbose=0)
    after = _values(model.discriminator)
    for path in frozen:
        if not path.endswith("sn_u"):  # u keeps its power iteration (same sigma)
            np.testing.assert_array_equal(after[path], before[path], err_msg=path)
    moved = [p for p in after if p not in frozen and not np.array_equal(after[p], before[p])]
    assert any(p.startswith("block3/") for p in moved)
    assert any(p.startswith("projection/") for p in moved)


@pytest.mark.parametrize("blocks", [-1, 5, True])
def test_freeze_d_blocks_out_of_range_is_refused(blocks):
    discriminator = build_model(_config("unused")).discriminator
    with pytest.raises(ValueError, match=r"`freeze_d_blocks` must be"):
        if blocks == -1:  # the config refuses it first
            _config("unused", freeze_d_blocks=blocks)
        init_from.freeze_discriminator_blocks(discriminator, blocks)


@pytest.mark.parametrize("source,target,words", [
    (dict(), dict(unconditional=True),
     ["is a class-conditional run (10 classes)", "this run is unconditional",
      "Start from an unconditional run"]),
    (dict(unconditional=True), dict(),
     ["is an unconditional run", "this run is class-conditional",
      "Start from a class-conditional run"]),
])
def test_the_other_kind_of_source_is_refused_by_name(tmp_path, source, target, words):
    source_config, _, _ = _source(tmp_path, **source)
    with pytest.raises(ValueError) as error:
        _new_run(tmp_path, source_config, **target)
    for word in words:
        assert word in str(error.value)


def test_an_architecture_mismatch_names_the_setting(tmp_path):
    source_config, _, _ = _source(tmp_path)
    config, model = _new_run(tmp_path, source_config,
                             generator_overrides=dict(channels=[32, 32, 32]))
    with pytest.raises(ValueError) as error:
        init_from.initialize(model, config)
    message = str(error.value)
    assert "generator channels: source [16, 16, 16], this run [32, 32, 32]" in message
    assert "discriminator" not in message.split("Its weights")[0]  # D's settings agree
    assert "(128, 256)" in message and "(128, 512)" in message  # the dense kernel


def test_settings_that_change_no_weight_may_differ(tmp_path):
    source_config, source, _ = _source(tmp_path)
    config, model = _new_run(tmp_path, source_config, generator_overrides=dict(
        channels=[16, 16, 16], upsample_conv="plain", power_iterations=2))
    init_from.initialize(model, config)
    np.testing.assert_array_equal(model.generator.weights[-1].numpy(),
                                  source.generator.weights[-1].numpy())


def test_faults_are_refused_before_any_network_is_built(tmp_path):
    source_config, _, prefix = _source(tmp_path)
    cases = [
        (dict(init_from=str(tmp_path / "nowhere")), "must be a sagan-train run directory"),
        (dict(init_from=source_config.model_dir, num_classes=3, init_optimizers=True),
         "the source has 10 classes and this run 3"),
    ]
    for changes, words in cases:
        with pytest.raises((ValueError, FileNotFoundError), match=words):
            init_from.resolve(_config(tmp_path / "new", **changes))
    with pytest.raises(ValueError, match="this run's own --model_dir"):
        init_from.resolve(_config(source_config.model_dir, init_from=source_config.model_dir))
    tf.io.gfile.remove(str(tmp_path / "source" / "config.json"))
    with pytest.raises(FileNotFoundError, match="config.json. is missing|is missing"):
        init_from.resolve(_config(tmp_path / "new", init_from=prefix))
    with pytest.raises(ValueError, match="pass --init_from too"):
        _config(tmp_path / "new", init_optimizers=True)


def test_a_mirrored_run_starts_from_the_sources_weights_on_every_replica(tmp_path):
    source_config, source, _ = _source(tmp_path)
    config = init_from.resolve(_config(tmp_path / "new", init_from=source_config.model_dir))
    strategy = compat.mirrored_strategy(["/cpu:0", "/cpu:1"])
    with strategy.scope():
        model = _model(config)
    init_from.initialize(model, config)  # outside the scope, as sagan-train's fit does
    expected = _values(source.discriminator)
    for w in model.discriminator.weights:
        for replica_value in strategy.experimental_local_results(w.value):
            np.testing.assert_array_equal(replica_value.numpy(), expected[w.path],
                                          err_msg=w.path)

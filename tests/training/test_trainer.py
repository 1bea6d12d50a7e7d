import os
import signal
import threading
import time

import keras
import numpy as np
import pytest
import tensorflow as tf

from training import pipeline, trainer
from training import strategy as strategy_lib
from sagan_tf.callbacks import AttentionMaps, SampleGrid
from sagan_tf.callbacks.loss_csv_logger import read_losses
from sagan_tf.summaries import read_events


def _run(config, strategy=None):
    strategy = strategy or tf.distribute.get_strategy()
    dataset, config = pipeline.load(config)
    return trainer.fit(config, strategy, dataset, trainer.build(config, strategy))


def _signal_after_rows(path, rows, signum):
    """Sends `signum` to this process once the CSV at `path` has `rows` data rows."""
    def watch():
        deadline = time.time() + 120
        while time.time() < deadline:
            if os.path.exists(path) and sum(1 for _ in open(path)) > rows:
                os.kill(os.getpid(), signum)
                return
            time.sleep(0.01)
    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    return thread


@pytest.mark.slow  # 32 s; Ctrl-C/SIGTERM handling stays default in callbacks/test_stop_on_signal.py, resume in test_train's SIGKILL test
def test_sigterm_saves_the_step_reached_and_the_next_run_resumes_there(tiny, tmp_path):
    config = tiny.config(tmp_path, steps=60, checkpoint_every=100, sample_every=100,
                         log_every=1, num_classes=None, class_names=())
    csv = str(tmp_path / "losses.csv")
    _signal_after_rows(csv, 3, signal.SIGTERM)
    step, stopped_by = _run(config)
    assert stopped_by == signal.SIGTERM and 3 <= step < 60
    # The checkpoint (not on the every-100 schedule), the CSV, the samples: all at `step`.
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith(f"ckpt-{step}")
    assert read_losses(csv)["step"] == list(range(1, step + 1))
    assert (tmp_path / "samples" / f"step_{step:08d}.png").exists()
    events = read_events(str(tmp_path / "logs" / "train"))  # TensorBoard's run "train"
    assert [s for s, _ in events["losses/d_loss"]] == list(range(1, step + 1))
    assert "config" in events and "attention/ema_generator/attention16" in events

    resumed, stopped_by = _run(config.replace(steps=step + 2))
    assert (resumed, stopped_by) == (step + 2, None)
    assert read_losses(csv)["step"] == list(range(1, step + 3))
    assert tf.train.latest_checkpoint(str(tmp_path / "checkpoints")).endswith(
        f"ckpt-{step + 2}")
    # Already at --steps: nothing to do.
    assert _run(config.replace(steps=step + 2)) == (step + 2, None)


@pytest.mark.slow
@pytest.mark.parametrize("grad_accum", [1, 2])
def test_two_mirrored_replicas_train_like_one_device(tiny, tmp_path, grad_accum):
    """The whole program on the two logical CPUs (2 D steps, synchronized BN, with and
    without gradient accumulation) against one device with the same global batch: the
    same losses, up to float rounding amplified by Adam."""
    losses = {}
    for name, strategy in (("one", None),
                           ("two", strategy_lib.mirrored(["/cpu:0", "/cpu:1"]))):
        config = tiny.config(tmp_path / name, steps=4, d_steps=2, grad_accum=grad_accum,
                             checkpoint_every=100,
                             sample_every=100, num_classes=None, class_names=(),
                             generator_overrides=dict(channels=[16, 16, 16],
                                                      synchronized_bn=True))
        assert _run(config, strategy) == (4, None)
        losses[name] = read_losses(str(tmp_path / name / "losses.csv"))
    for column in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(losses["two"][column], losses["one"][column],
                                   rtol=1e-3, atol=1e-3, err_msg=column)


def test_mixed_bfloat16_policy_is_set_before_the_models_are_built(tiny, tmp_path):
    config = tiny.config(tmp_path, mixed_precision="mixed_bfloat16")
    model = trainer.build(config, tf.distribute.get_strategy())
    assert keras.mixed_precision.global_policy().name == "mixed_bfloat16"
    assert model.generator.get_layer("block1").dtype_policy.compute_dtype == "bfloat16"
    assert model.discriminator.get_layer("attention16").compute_dtype == "bfloat16"
    assert all(w.dtype == "float32" for w in model.generator.weights)  # float32 weights
    logs = model.train_step(next(iter(tiny.digits())))
    assert all(np.isfinite(float(v)) for v in logs.values())
    # Sampling and attention maps work on bfloat16 activations.
    grid = SampleGrid(None, str(tmp_path / "samples"), 1, 10, columns=2)
    grid.set_model(model)
    assert os.path.exists(grid.write(1))
    maps = AttentionMaps(None, 1, 10)
    maps.set_model(model)
    maps.on_train_begin()
    assert all(p.dtype == np.uint8 for p in maps.panels().values())


@pytest.mark.slow  # 34 s; EvalCallback's steps, names and best-FID checkpoint stay default in test_eval_callback.py
def test_eval_every_evaluates_at_those_steps_and_keeps_the_best_fid(tiny, tmp_path):
    import json  # pylint: disable=import-outside-toplevel

    config = tiny.config(tmp_path / "run", steps=4, eval_every=2, eval_num_samples=60)
    step, _ = _run(config)
    assert step == 4
    with open(tmp_path / "run" / "eval.jsonl") as f:
        lines = [json.loads(line) for line in f]
    assert [line["step"] for line in lines] == [2, 4]
    assert lines[0]["protocols"]["fid"] == "fid60_test"  # digits: the held-out split
    assert lines[0]["fid60_test"] == lines[0]["fid"]
    best = min(lines, key=lambda line: line["fid"])
    with open(tmp_path / "run" / "best_fid" / "best_fid.json") as f:
        kept = json.load(f)
    assert kept["step"] == best["step"] and kept["fid"] == pytest.approx(best["fid"])
    assert tf.train.latest_checkpoint(str(tmp_path / "run" / "best_fid")).endswith(
        f"ckpt-{best['step']}")
    assert os.path.exists(tmp_path / "run" / "domain_classifier.keras")


def test_eval_reference_replaces_the_real_images_and_is_checked_at_start_up(tiny, tmp_path):
    from sagan_tf import evaluation, metrics  # pylint: disable=import-outside-toplevel

    keras.utils.set_random_seed(0)
    model = keras.Sequential([keras.Input((8, 8, 3)), keras.layers.GlobalAveragePooling2D(),
                              keras.layers.Dense(4, name="features"), keras.layers.Dense(10)],
                             name="tiny_eval")
    classifier_path = str(tmp_path / "tiny_eval.keras")
    model.save(classifier_path)
    images = np.random.default_rng(0).uniform(-1, 1, (20, 32, 32, 3)).astype(np.float32)
    stats = evaluation.compute_reference_stats(
        metrics.load_classifier(classifier_path), [images], dataset="digits", split="test",
        resolution=32, progress=False)
    good, bad = str(tmp_path / "good.npz"), str(tmp_path / "bad.npz")
    evaluation.save_reference_stats(good, stats)
    evaluation.save_reference_stats(bad, evaluation.ReferenceStats(
        stats.mean, stats.covariance, protocol=dict(stats.protocol, resolution=64)))
    config = tiny.config(tmp_path / "run", eval_every=2, eval_classifier=classifier_path,
                         eval_reference=good)
    callback = trainer.eval_callback(config)
    assert callback.real_data is None and callback.real_split == "test"
    np.testing.assert_array_equal(callback.reference.mean, stats.mean)
    with pytest.raises(evaluation.EvalError, match="resolution 64, but this evaluation"):
        trainer.eval_callback(config.replace(eval_reference=bad))


def test_an_unconditional_run_with_the_domain_classifier_stops_at_start_up(tiny, tmp_path):
    from sagan_tf import evaluation  # pylint: disable=import-outside-toplevel

    config = tiny.config(tmp_path / "run", eval_every=2, unconditional=True,
                         num_classes=None, class_names=())
    with pytest.raises(evaluation.EvalError, match="has none: it is unconditional. Pass "
                                                   "--eval_classifier=inception"):
        trainer.eval_callback(config)

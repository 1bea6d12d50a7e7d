"""EvalCallback during a real `fit` of a tiny SAGAN on the digits.

One fit of 6 steps carries three callbacks: one whose evaluate function is a
stand-in returning a fixed sequence of FIDs (so the keep-best logic is checked
deterministically, against weight snapshots taken at each evaluation), one of a
non-chief worker, and one with the real metrics and an (untrained, so fixed)
domain classifier, whose best FID is recomputed from its saved checkpoint.
"""

import dataclasses
import json
import os
import shutil
import types

import keras
import numpy as np
import pytest
import tensorflow as tf

from sagan_tf import evaluation, metrics
from sagan_tf.data import digits_arrays, load_dataset
from sagan_tf.callbacks import eval_callback
from noise_reference import documented_z
from tiny_models import TINY
from sagan_tf.checkpoints import make_checkpoint
from sagan_tf.models import build_model, compile_model
from sagan_tf.train_config import TrainConfig
from sagan_tf.callbacks.eval_callback import EvalCallback

NUM_CLASSES = 10
SEED = 4
STEPS = 6
FIDS = [5.0, 3.0, 4.0]  # At steps 2, 4, 6: the best is step 4.
Z_DIM = 128


def tiny_config(model_dir):
    return TrainConfig(model_dir=str(model_dir), num_classes=NUM_CLASSES, dataset="digits",
                       **TINY)


def fresh_model(model_dir):
    config = tiny_config(model_dir)
    model = build_model(config)
    compile_model(model, config)
    return model


class StandInEvaluate:
    """Replaces evaluation.evaluate: returns the next FID; snapshots the model."""

    def __init__(self, model, fids):
        self.model = model
        self.fids = iter(fids)
        self.steps, self.ema_weights, self.g_weights = [], [], []
        self.image_errors = []

    def __call__(self, generate_fn, real_batches, classifier, num_samples, batch_size,
                 num_classes, seed, **kwargs):
        self.steps.append(int(self.model.g_optimizer.iterations.numpy()))
        self.ema_weights.append([w.numpy() for w in self.model.ema_generator.weights])
        self.g_weights.append([w.numpy() for w in self.model.generator.weights])
        # The images generate_fn gives: the EMA generator on the documented noise.
        labels = (np.arange(num_samples) % num_classes).astype(np.int32)
        z = tf.constant(documented_z(seed, num_samples, Z_DIM))  # sagan_tf.noise, by SciPy
        images = generate_fn(labels)  # uint8: quantized as real images (the default)
        assert images.dtype == np.uint8
        images = images / 127.5 - 1.0
        expected = {name: net([z, tf.constant(labels)], training=False).numpy() for name, net in (
            ("ema", self.model.ema_generator), ("g", self.model.generator))}
        self.image_errors.append({k: np.abs(images - v).max() for k, v in expected.items()})
        return dict(fid=next(self.fids), kid=0.25, kid_std=None, inception_score=1.5,
                    intra_fid=None, class_accuracy=None)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    base = tmp_path_factory.mktemp("eval_callback")
    model = fresh_model(base / "run")
    model.run_eagerly = True  # the callback sees the same steps; no 10-s trace to pay
    dataset, _ = load_dataset("digits", resolution=32, global_batch_size=16, seed=0)
    real = digits_arrays("test", 32)
    stand_in, worker_stand_in = StandInEvaluate(model, FIDS), StandInEvaluate(model, [])
    classifier = metrics.domain_classifier_from_model(
        metrics.build_domain_classifier((32, 32, 3), NUM_CLASSES, seed=0))
    callbacks = dict(
        stand_in=EvalCallback(None, real, NUM_CLASSES, str(base / "stand_in"),
                              every_n_steps=2, num_samples=20, batch_size=10, seed=SEED,
                              evaluate_fn=stand_in, verbose=0, real_split="test"),
        worker=EvalCallback(None, real, NUM_CLASSES, str(base / "worker"), every_n_steps=1,
                            is_chief=False, evaluate_fn=worker_stand_in, verbose=0),
        real=EvalCallback(classifier, real, NUM_CLASSES, str(base / "real"), every_n_steps=3,
                          num_samples=60, batch_size=30, seed=SEED, verbose=0,
                          real_split="test"))
    model.fit(dataset, epochs=1, steps_per_epoch=STEPS, callbacks=list(callbacks.values()),
              verbose=0)
    return types.SimpleNamespace(base=base, model=model, dataset=dataset, real=real,
                                 classifier=classifier, callbacks=callbacks,
                                 stand_in=stand_in, worker_stand_in=worker_stand_in)


def read_scalars(log_dir):
    """{tag: [(step, value)]} from the event files, read with TensorFlow's iterator."""
    scalars = {}
    for path in sorted(tf.io.gfile.glob(os.path.join(log_dir, "events.out.tfevents.*"))):
        for event in tf.compat.v1.train.summary_iterator(path):
            for value in event.summary.value:
                scalars.setdefault(value.tag, []).append(
                    (event.step, float(tf.make_ndarray(value.tensor))))
    return scalars


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f]


def restore_best(model_dir, tmp_path):
    best = eval_callback.read_best(model_dir)
    model = fresh_model(tmp_path / "restored")
    make_checkpoint(model).restore(best["checkpoint"]).assert_existing_objects_matched()
    return best, model


def test_evaluates_every_n_g_steps_on_the_ema_generator(trained):
    assert trained.stand_in.steps == [2, 4, 6]
    for errors in trained.stand_in.image_errors:
        # The sampling generator on the documented z, rounded to the nearest uint8 level
        # (half a level, 0.5 / 127.5, plus float rounding) ...
        assert errors["ema"] < 0.5 / 127.5 + 1e-5
        assert errors["g"] > 2 / 127.5  # ... which is not G (more than rounding apart).


def test_writes_the_metrics_to_tensorboard_at_their_steps(trained):
    """Under their protocol names: 20 generated images against the test split."""
    scalars = read_scalars(os.path.join(trained.base, "stand_in", "logs", "eval"))
    assert scalars["eval/fid20_test"] == [(2, 5.0), (4, 3.0), (6, 4.0)]
    assert scalars["eval/kid20_test"] == [(s, 0.25) for s in (2, 4, 6)]
    assert scalars["eval/is20"] == [(s, 1.5) for s in (2, 4, 6)]
    assert "eval/kid20_test_std" not in scalars  # None is not logged.
    assert "eval/fid" not in scalars and "eval/inception_score" not in scalars


def test_appends_one_json_line_per_evaluation(trained):
    lines = read_jsonl(os.path.join(trained.base, "stand_in", "eval.jsonl"))
    assert [(r["step"], r["fid"], r["fid20_test"], r["best"]) for r in lines] == [
        (2, 5.0, 5.0, True), (4, 3.0, 3.0, True), (6, 4.0, 4.0, False)]
    assert lines[0]["protocols"] == dict(
        fid="fid20_test", kid="kid20_test", kid_std="kid20_test_std", inception_score="is20",
        intra_fid="intra_fid20_test", class_accuracy="class_accuracy20")


def test_best_fid_holds_the_checkpoint_of_the_lowest_fid_step(trained, tmp_path):
    model_dir = os.path.join(trained.base, "stand_in")
    best, restored = restore_best(model_dir, tmp_path)
    assert best["step"] == 4 and best["fid"] == 3.0 and best["metrics"]["kid"] == 0.25
    assert os.path.basename(best["checkpoint"]) == "ckpt-4"
    assert tf.train.get_checkpoint_state(os.path.join(model_dir, "best_fid")) \
        .all_model_checkpoint_paths == [best["checkpoint"]]
    assert int(restored.g_optimizer.iterations.numpy()) == 4
    at_step = dict(zip(trained.stand_in.steps, range(3)))
    for name, snapshots in (("ema_generator", trained.stand_in.ema_weights),
                            ("generator", trained.stand_in.g_weights)):
        weights = [w.numpy() for w in getattr(restored, name).weights]
        for actual, expected in zip(weights, snapshots[at_step[4]]):
            np.testing.assert_array_equal(actual, expected)
        assert any(not np.array_equal(a, b) for a, b in
                   zip(weights, snapshots[at_step[6]])), "steps 4 and 6 must differ"


def test_a_non_chief_neither_evaluates_nor_writes(trained):
    assert trained.worker_stand_in.steps == []
    assert not os.path.exists(os.path.join(trained.base, "worker"))


def test_resumed_run_keeps_the_best_unless_beaten(trained, tmp_path):
    model_dir = str(tmp_path / "resumed")
    shutil.copytree(os.path.join(trained.base, "stand_in"), model_dir)
    stand_in = StandInEvaluate(trained.model, [3.5, 2.0])  # At steps 8 and 10.
    callback = EvalCallback(None, trained.real, NUM_CLASSES, model_dir, every_n_steps=2,
                            num_samples=20, batch_size=10, seed=SEED, evaluate_fn=stand_in,
                            verbose=0)
    steps_seen = []

    class AfterEval(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            steps_seen.append((int(trained.model.g_optimizer.iterations.numpy()),
                               eval_callback.read_best(model_dir)["step"]))

    trained.model.fit(trained.dataset, epochs=1, steps_per_epoch=4,
                      callbacks=[callback, AfterEval()], verbose=0)
    assert stand_in.steps == [8, 10]
    # 3.5 at step 8 does not beat the 3.0 of step 4 saved before the resume.
    assert steps_seen == [(7, 4), (8, 4), (9, 4), (10, 10)]
    names = sorted(n for n in os.listdir(os.path.join(model_dir, "best_fid"))
                   if n.startswith("ckpt-"))
    assert names == ["ckpt-10.data-00000-of-00001", "ckpt-10.index"]  # max_to_keep=1
    assert [r["step"] for r in read_jsonl(os.path.join(model_dir, "eval.jsonl"))] == [
        2, 4, 6, 8, 10]


def test_real_metrics_match_a_recomputation_from_the_best_checkpoint(trained, tmp_path):
    model_dir = os.path.join(trained.base, "real")
    lines = read_jsonl(os.path.join(model_dir, "eval.jsonl"))
    assert [r["step"] for r in lines] == [3, 6]
    scalars = read_scalars(os.path.join(model_dir, "logs", "eval"))
    for line, (step, fid) in zip(lines, scalars["eval/fid60_test"]):
        assert step == line["step"] and fid == pytest.approx(line["fid"], rel=1e-6)
    best, restored = restore_best(model_dir, tmp_path)
    assert best["fid"] == min(r["fid"] for r in lines)

    num_samples = 60
    labels = np.random.default_rng(SEED).permutation(
        np.arange(num_samples) % NUM_CLASSES).astype(np.int32)
    z = tf.constant(documented_z(SEED, num_samples, Z_DIM))
    images = restored.ema_generator([z, tf.constant(labels)], training=False).numpy()
    # Quantized to uint8 as real images are (the evaluations' default), by NumPy here.
    images = np.clip(np.rint((images + np.float32(1)) * np.float32(127.5)), 0, 255)
    logits, fake = trained.classifier.logits_and_activations(images.astype(np.uint8))
    real = trained.classifier.logits_and_activations(trained.real[0][:num_samples])[1]
    assert best["fid"] == pytest.approx(
        metrics.frechet_distance(real.numpy(), fake.numpy()), rel=1e-4)
    assert best["metrics"]["inception_score"] == pytest.approx(
        metrics.inception_score(logits.numpy()), rel=1e-4)


def test_reference_statistics_give_the_numbers_of_the_real_images(trained, tmp_path):
    """EvalCallback(reference=file): the same figures as the images it stands for."""
    num_samples = 60
    images, labels = trained.real
    stats = evaluation.compute_reference_stats(
        trained.classifier, [(images[:num_samples], labels[:num_samples])],
        dataset="digits", split="test", resolution=32, progress=False)
    path = str(tmp_path / "digits_test.npz")
    evaluation.save_reference_stats(path, stats)
    kwargs = dict(every_n_steps=3, num_samples=num_samples, batch_size=30, seed=SEED,
                  verbose=0)
    from_images = EvalCallback(trained.classifier, trained.real, NUM_CLASSES,
                               str(tmp_path / "images"), real_split="test", **kwargs)
    from_file = EvalCallback(trained.classifier, None, NUM_CLASSES, str(tmp_path / "file"),
                             reference=path, **kwargs)
    results = []
    for callback in (from_images, from_file):
        callback.set_model(trained.model)
        results.append(callback.evaluate(99))
    assert results[1]["fid60_test"] == pytest.approx(results[0]["fid60_test"], rel=1e-6)
    for name in ("kid60_test", "precision60_test", "coverage60_test", "is60"):
        assert results[1][name] == pytest.approx(results[0][name], rel=1e-6), name

    other = EvalCallback(trained.classifier, None, NUM_CLASSES, str(tmp_path / "other"),
                         reference=dataclasses.replace(stats, protocol=dict(
                             stats.protocol, resolution=64)), **kwargs)
    other.set_model(trained.model)
    with pytest.raises(evaluation.EvalError, match="resolution 64, but this evaluation "
                                                   "has resolution 32"):
        other.evaluate(99)


class StubModel:
    """Just what EvalCallback reads from a SAGAN model."""

    def __init__(self):
        self.g_optimizer = types.SimpleNamespace(iterations=tf.Variable(0, dtype=tf.int64))
        z, labels = keras.Input((4,)), keras.Input((), dtype="int32")
        images = keras.layers.Reshape((2, 2, 1))(keras.layers.Dense(4)(z))
        self.generator = keras.Model([z, labels], images)

    def sampling_generator(self):
        return self.generator


@pytest.mark.parametrize("start, increments, expected", [
    (0, [2, 2, 2, 2], [4, 6]),    # Two steps per call (steps_per_execution=2).
    (5, [1, 1, 1, 1, 1], [6, 9]),  # Resumed at step 5: 6 and 9, not 5 again.
    (0, [7], [7]),                  # Two multiples passed at once: one evaluation.
])
def test_schedule_follows_the_g_step_counter(tmp_path, start, increments, expected):
    model = StubModel()
    model.g_optimizer.iterations.assign(start)
    stand_in = StandInEvaluateSteps(model)
    callback = EvalCallback(None, [], NUM_CLASSES, str(tmp_path), every_n_steps=3,
                            num_samples=4, evaluate_fn=stand_in, verbose=0)
    callback.set_model(model)
    callback.on_train_begin()
    for batch, increment in enumerate(increments):
        model.g_optimizer.iterations.assign_add(increment)
        callback.on_train_batch_end(batch)
    callback.on_train_end()
    assert stand_in.steps == expected


def test_evaluate_at_end_adds_the_last_step_once(tmp_path):
    model = StubModel()
    stand_in = StandInEvaluateSteps(model)
    callback = EvalCallback(None, [], NUM_CLASSES, str(tmp_path), every_n_steps=3,
                            num_samples=4, evaluate_fn=stand_in, evaluate_at_end=True,
                            verbose=0)
    callback.set_model(model)
    for total in (4, 6):
        callback.on_train_begin()
        while int(model.g_optimizer.iterations.numpy()) < total:
            model.g_optimizer.iterations.assign_add(1)
            callback.on_train_batch_end(0)
        callback.on_train_end()
    assert stand_in.steps == [3, 4, 6]


class StandInEvaluateSteps:
    def __init__(self, model):
        self.model, self.steps = model, []

    def __call__(self, generate_fn, *args, **kwargs):
        self.steps.append(int(self.model.g_optimizer.iterations.numpy()))
        return dict(fid=None, kid=None, kid_std=None,  # Not a best: no checkpoint.
                    inception_score=None, intra_fid=None, class_accuracy=None)


def test_rejects_an_iterator_of_real_batches(tmp_path):
    with pytest.raises(ValueError, match="re-iterable"):
        EvalCallback(None, iter([]), NUM_CLASSES, str(tmp_path))

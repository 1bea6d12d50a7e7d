"""sagan-eval: its numbers against metrics recomputed from independently regenerated samples.

One tiny untrained run (model_dir with config and checkpoint) and one domain
classifier (2 epochs on the digits' train split) are shared by the module. The
program runs in-process through `main` (with its own FlagValues) except where
the exit code and stderr are the point.
"""

import json
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
import tensorflow as tf
from absl import flags

from noise_reference import documented_z
from sagan_tf import evaluation, metrics
from sagan_tf.data import digits_arrays
from sagan_tf.evaluation.metric_table import METRIC_NAMES
from sagan_tf.checkpoints import make_checkpoint
from sagan_tf.run_dir import RunDir
from sagan_tf.models import build_model, compile_model
from sagan_tf.train_config import TrainConfig
from tiny_models import TINY
from training import evaluate

NUM_CLASSES = 10
NUM_SAMPLES = 200
BATCH_SIZE = 50
SEED = 3
STEP = 7  # The G step written into the checkpoint.
Z_DIM = 128  # sagan32's z.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def sagan_eval(*args):
    """Runs the program in-process, as `run` does (its flags parsed afresh)."""
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["sagan-eval", *args])
    try:
        evaluate.main(["sagan-eval"])
    finally:
        flags.FLAGS.unparse_flags()


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    model_dir = str(tmp_path_factory.mktemp("run"))
    config = TrainConfig(model_dir=model_dir, num_classes=NUM_CLASSES, dataset="digits",
                         **TINY)
    model = build_model(config)
    compile_model(model, config)
    RunDir(model_dir).save_config(config)
    model.g_optimizer.iterations.assign(STEP)
    tf.train.CheckpointManager(make_checkpoint(model), RunDir(model_dir).checkpoints, 3).save()
    path = RunDir(model_dir).domain_classifier
    classifier, accuracy = evaluation.load_eval_classifier(
        "domain", dataset="digits", resolution=32, num_classes=NUM_CLASSES,
        domain_classifier_path=path, domain_epochs=2, verbose=0)
    return types.SimpleNamespace(model_dir=model_dir, classifier=classifier,
                                 accuracy=accuracy, classifier_path=path)


@pytest.fixture(scope="module")
def results(run):
    """sagan-eval --classifier=domain on the run, with the default --output."""
    sagan_eval(f"--model_dir={run.model_dir}", "--classifier=domain",
               f"--num_samples={NUM_SAMPLES}", f"--batch_size={BATCH_SIZE}", f"--seed={SEED}",
               "--noprogress")
    with open(os.path.join(run.model_dir, "eval.json")) as f:
        return json.load(f)


def regenerated_activations(run, generator):
    """Logits and activations of the documented samples, recomputed from scratch."""
    labels = np.random.default_rng(SEED).permutation(
        np.arange(NUM_SAMPLES) % NUM_CLASSES).astype(np.int32)
    z = tf.constant(documented_z(SEED, NUM_SAMPLES, Z_DIM))  # sagan_tf.noise's, by SciPy
    images = generator([z, tf.constant(labels)], training=False).numpy()  # One batch, not 4.
    # Quantized to uint8 as real images are (sagan-eval's default), by NumPy here.
    images = np.clip(np.rint((images + np.float32(1)) * np.float32(127.5)), 0, 255)
    logits, activations = run.classifier.logits_and_activations(images.astype(np.uint8))
    return labels, logits.numpy(), activations.numpy()


def real_activations(run, split="test"):
    images, _ = digits_arrays(split, 32)
    return run.classifier.logits_and_activations(images[:NUM_SAMPLES])[1].numpy()


def test_domain_classifier_learned_the_digits(run):
    assert run.accuracy > 0.8  # 2 epochs reach 0.92 (3: ~0.94); chance is 0.1.


def test_json_holds_the_metrics_and_the_run(run, results):
    assert set(METRIC_NAMES) <= set(results)
    assert results["num_samples"] == NUM_SAMPLES
    assert results["num_real_samples"] == NUM_SAMPLES  # The test split has 359.
    assert results["classifier"] == "domain"
    assert results["checkpoint_step"] == STEP
    assert results["checkpoint"].endswith("ckpt-1")
    assert results["dataset"] == "digits" and results["real_split"] == "test"
    assert results["use_ema"] is True and results["seed"] == SEED
    # The saved classifier was loaded and tested on the same test split.
    assert results["classifier_test_accuracy"] == pytest.approx(run.accuracy, abs=1e-12)
    assert results["domain_classifier_path"] == run.classifier_path
    # Each figure also under its protocol name: 200 generated images, the test split.
    assert results["protocols"]["fid"] == "fid200_test"
    assert results["protocols"]["inception_score"] == "is200"
    assert results["is200_10splits"] == results["inception_score_splits_mean"] is not None
    assert results["fid200_test"] == results["fid"]
    assert results["precision200_test"] == results["precision"] is not None
    assert results["reference"] is None


def test_metrics_equal_a_recomputation_from_regenerated_samples(run, results):
    generator = RunDir(run.model_dir).load_generator(use_ema=True)[0]
    labels, logits, fake = regenerated_activations(run, generator)
    real = real_activations(run)
    assert results["fid"] == pytest.approx(metrics.frechet_distance(real, fake), rel=1e-4)
    assert results["inception_score"] == pytest.approx(metrics.inception_score(logits),
                                                       rel=1e-4)
    mean, std = metrics.inception_score_splits(logits)  # Salimans' 10 splits
    assert results["inception_score_splits_mean"] == pytest.approx(mean, rel=1e-4)
    assert results["inception_score_splits_std"] == pytest.approx(std, rel=1e-3, abs=1e-6)
    assert results["generated_images"] == "uint8"
    accuracy = np.mean(np.argmax(logits, -1) == labels)
    assert abs(results["class_accuracy"] - accuracy) <= 1.0 / NUM_SAMPLES
    # Another seed's samples give another FID: the seed reaches the noise.
    z = tf.constant(documented_z(SEED + 1, NUM_SAMPLES, Z_DIM))
    other = run.classifier.logits_and_activations(
        generator([z, tf.constant(labels)], training=False))[1].numpy()
    assert abs(metrics.frechet_distance(real, other) - results["fid"]) > 1e-3


def test_real_images_score_far_better_than_the_untrained_generator(run, results):
    train_images, train_labels = digits_arrays("train", 32)
    pools = {k: list(train_images[train_labels == k]) for k in range(NUM_CLASSES)}

    def real_call(z, labels):  # A "generator" returning held-in real digits.
        del z
        return np.stack([pools[int(k)].pop() for k in labels.numpy()])

    source = evaluation.GeneratorSource(call=real_call, z_dim=Z_DIM, resolution=32)
    real = evaluation.evaluate_source(
        source, evaluation.real_batches("digits", 32, BATCH_SIZE), run.classifier,
        evaluation.EvalSettings(num_samples=NUM_SAMPLES, batch_size=BATCH_SIZE, seed=SEED,
                                progress=False), NUM_CLASSES)
    print(f"FID real train vs test {real['fid']:.2f}, untrained G {results['fid']:.2f}")
    assert real["fid"] < 0.05 * results["fid"]
    assert real["class_accuracy"] > 0.8
    assert results["class_accuracy"] < 0.5


class ExportedGenerator(tf.Module):
    """What sagan-export writes, reduced to the serving_default signature."""

    def __init__(self, generator, static_z, num_classes):
        super().__init__()
        self.generator = generator
        if not static_z:  # sagan-export: z's width open, stored in a variable.
            self.latent_dim = tf.Variable(Z_DIM, dtype=tf.int64, trainable=False)
            self.num_classes = tf.Variable(num_classes, dtype=tf.int64, trainable=False)

        @tf.function(input_signature=[
            tf.TensorSpec([None, Z_DIM if static_z else None], tf.float32, name="z"),
            tf.TensorSpec([None], tf.int32, name="labels")])
        def serving_default(z, labels):
            images = generator([z, labels], training=False)
            return {"images_float": images,
                    "images": tf.cast(tf.round((images + 1.0) * 127.5), tf.uint8)}

        self.serving_default = serving_default


def sagan_eval_command():
    command = shutil.which("sagan-eval")
    return [command] if command else [sys.executable, "-m", "training.evaluate"]


# 10-22 s each: the variable-width export is slow.
@pytest.mark.parametrize("static_z", [True, pytest.param(False, marks=pytest.mark.slow)],
                         ids=["z_dim_in_signature", "z_dim_in_variable"])
def test_saved_model_gives_the_same_numbers_as_its_checkpoint(run, results, tmp_path,
                                                              static_z):
    """In-process with --output; as a subprocess printing the JSON to stdout."""
    generator = RunDir(run.model_dir).load_generator(use_ema=True)[0]
    module = ExportedGenerator(generator, static_z, NUM_CLASSES)
    export_base = tmp_path / "export"
    tf.saved_model.save(module, str(export_base / "1"),
                        signatures={"serving_default": module.serving_default})
    args = ["--dataset=digits", "--classifier=domain",
            f"--domain_classifier_path={run.classifier_path}",
            f"--num_samples={NUM_SAMPLES}", f"--batch_size={BATCH_SIZE}", f"--seed={SEED}",
            "--noprogress"]
    if static_z:  # The version directory; the number of classes from the flag.
        output = str(tmp_path / "saved_model_eval.json")
        sagan_eval(f"--saved_model={export_base / '1'}", f"--num_classes={NUM_CLASSES}",
                   f"--output={output}", *args)
        with open(output) as f:
            exported = json.load(f)
    else:  # The export base (its latest version); the classes from the SavedModel.
        proc = subprocess.run([*sagan_eval_command(), f"--saved_model={export_base}", *args],
                              capture_output=True, text=True, cwd=REPO, timeout=300,
                              check=False)
        assert proc.returncode == 0, proc.stderr[-2000:]
        exported = json.loads(proc.stdout[proc.stdout.index("\n{") + 1:])
        assert f"fid200_test: {results['fid']:.4f}" in proc.stdout
    for name in METRIC_NAMES:
        if results[name] is None:
            assert exported[name] is None, name
        else:
            assert exported[name] == pytest.approx(results[name], rel=1e-5), name
    assert exported["saved_model"] == str(export_base / "1")
    assert exported["checkpoint_step"] is None and exported["num_classes"] == NUM_CLASSES


def test_missing_classifier_names_the_flag(run, tmp_path):
    """--offline with an empty TF-Hub cache: today's error, nothing downloaded."""
    env = dict(os.environ, TFHUB_CACHE_DIR=str(tmp_path / "empty_hub_cache"))
    proc = subprocess.run(
        [*sagan_eval_command(), f"--model_dir={run.model_dir}", "--classifier=inception",
         "--offline", "--num_samples=10", f"--output={tmp_path / 'never.json'}"],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=300, check=False)
    assert proc.returncode != 0
    last_line = proc.stderr.strip().splitlines()[-1]
    assert last_line.startswith("sagan-eval: error: Classifier not found: "
                                "`--classifier=inception`")
    assert "downloads are off (--offline or $SAGAN_OFFLINE)" in last_line
    assert "Traceback" not in proc.stderr and "Downloading" not in proc.stdout
    assert not (tmp_path / "never.json").exists()


def test_a_reference_file_gives_the_numbers_of_the_real_images(run, results, tmp_path):
    images, labels = digits_arrays("test", 32)
    stats = evaluation.compute_reference_stats(
        run.classifier, [(images[:NUM_SAMPLES], labels[:NUM_SAMPLES])], dataset="digits",
        split="test", resolution=32, progress=False)
    path = str(tmp_path / "digits_test.npz")
    evaluation.save_reference_stats(path, stats)
    output = tmp_path / "with_reference.json"
    sagan_eval(f"--model_dir={run.model_dir}", "--classifier=domain", f"--reference={path}",
               f"--num_samples={NUM_SAMPLES}", f"--batch_size={BATCH_SIZE}", f"--seed={SEED}",
               "--noprogress", f"--output={output}")
    with open(output) as f:
        from_file = json.load(f)
    assert from_file["reference"] == path and from_file["real_split"] == "test"
    assert from_file["fid200_test"] == pytest.approx(results["fid"], rel=1e-6)
    for name in ("kid", "intra_fid", "precision", "recall", "density", "coverage"):
        assert from_file[name] == pytest.approx(results[name], rel=1e-6), name

    evaluation.save_reference_stats(path, evaluation.ReferenceStats(
        stats.mean, stats.covariance, protocol=dict(stats.protocol, resolution=64)))
    with pytest.raises(SystemExit) as exit_info:
        sagan_eval(f"--model_dir={run.model_dir}", "--classifier=domain",
                   f"--reference={path}", "--num_samples=10", "--noprogress",
                   f"--output={tmp_path / 'never.json'}")
    assert "resolution 64, but this evaluation has resolution 32" in str(
        exit_info.value.code)


def test_missing_run_is_a_short_error(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        sagan_eval(f"--model_dir={tmp_path / 'nothing'}", "--classifier=domain")
    assert "No config.json in model_dir" in str(exit_info.value.code)

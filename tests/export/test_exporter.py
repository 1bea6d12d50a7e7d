"""The export_base layout, versions, models.config, and the SavedModel as tools see it."""

import json
import os
import re
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from google.protobuf import text_format
from tensorflow_serving.config import model_server_config_pb2

import sagan_tf
from export import exporter
from programs import run_program, subprocess_env
from sagan_tf.standing_stats import apply_standing_stats
from noise_reference import documented_z
from tolerances import GENERATOR_ATOL


def test_export_base_holds_the_version_and_models_config_only(export_base, saved_model_dir):
    assert sorted(os.listdir(export_base)) == ["1", "models.config"]  # no temp dirs left
    assert {"saved_model.pb", "variables", "assets.extra"} <= set(os.listdir(saved_model_dir))
    assert sorted(os.listdir(os.path.join(saved_model_dir, "assets.extra"))) == [
        "sagan_tf.json", "tf_serving_warmup_requests"]


def test_models_config_is_a_model_server_config_for_the_docker_layout(export_base):
    with open(os.path.join(export_base, "models.config")) as f:
        config = text_format.Parse(f.read(), model_server_config_pb2.ModelServerConfig())
    (model,) = config.model_config_list.config
    assert (model.name, model.base_path, model.model_platform) == (
        "sagan", "/models/sagan", "tensorflow")
    assert model.model_version_policy.latest.num_versions == 1


def test_metadata_describes_the_model_and_its_source(saved_model_dir, model_dir):
    with open(os.path.join(saved_model_dir, "assets.extra", "sagan_tf.json")) as f:
        info = json.load(f)
    assert info["latent_dim"] == 128 and info["num_classes"] == 10
    assert info["resolution"] == 32 and info["ema"] is True
    assert info["class_names"] == [f"digit_{i}" for i in range(10)]
    assert info["model_dir"] == os.path.abspath(model_dir)
    assert info["checkpoint"].endswith("ckpt-1")
    assert info["signatures"] == ["generate", "serving_default"]


def parse_saved_model_cli_show(text):
    """{signature: {"inputs"|"outputs": {name: (dtype, shape)}, "method": str}}."""
    signatures = {}
    for block in re.split(r"\nsignature_def\['", text)[1:]:
        name = block[:block.index("'")]
        entry = {"inputs": {}, "outputs": {}, "method": None}
        for kind, key, dtype, shape in re.findall(
                r"(inputs|outputs)\['([^']+)'\] tensor_info:\s*\n\s*dtype: (\w+)\s*\n"
                r"\s*shape: (.+)\n", block):
            entry[kind][key] = (dtype, shape.strip())
        method = re.search(r"Method name is: (\S*)", block)
        entry["method"] = method.group(1) if method else None
        signatures[name] = entry
    return signatures


@pytest.mark.slow  # a saved_model_cli start (11 s); test_client reads the SignatureDefs itself
def test_saved_model_cli_show_lists_both_signatures(saved_model_dir):
    proc = run_program(["saved_model_cli", "show", "--all", "--dir", saved_model_dir])
    signatures = parse_saved_model_cli_show(proc.stdout)
    predict = "tensorflow/serving/predict"
    images = {"images": ("DT_UINT8", "(-1, 32, 32, 3)"),
              "images_float": ("DT_FLOAT", "(-1, 32, 32, 3)")}
    assert signatures["serving_default"] == {
        "inputs": {"z": ("DT_FLOAT", "(-1, 128)"), "labels": ("DT_INT32", "(-1)")},
        "outputs": images, "method": predict}
    assert signatures["generate"] == {
        "inputs": {"labels": ("DT_INT32", "(-1)"), "seed": ("DT_INT64", "()"),
                   "truncation": ("DT_FLOAT", "()")},
        "outputs": images, "method": predict}


def test_saved_model_cli_run_generate(saved_model_dir, generators, tmp_path):
    # saved_model_cli feeds every input (it does not read SignatureDef defaults).
    run_program(["saved_model_cli", "run", "--dir", saved_model_dir, "--tag_set", "serve",
                 "--signature_def", "generate", "--outdir", str(tmp_path),
                 "--input_exprs", "labels=[3,0,9];seed=11;truncation=0.8"])
    images_float = np.load(tmp_path / "images_float.npy")
    images = np.load(tmp_path / "images.npy")
    z = documented_z(11, 3, 128, 0.8)
    expected = generators[0]([z, np.array([3, 0, 9], np.int32)], training=False).numpy()
    np.testing.assert_allclose(images_float, expected, rtol=0, atol=GENERATOR_ATOL)
    assert images.dtype == np.uint8
    np.testing.assert_array_equal(images, np.clip(np.round((images_float + 1) * 127.5), 0, 255))


@pytest.mark.slow
def test_saved_model_cli_run_serving_default_and_its_label_error(saved_model_dir, generators,
                                                                  tmp_path):
    z = np.random.RandomState(3).randn(2, 128).astype(np.float32)
    np.save(tmp_path / "z.npy", z)
    np.save(tmp_path / "labels.npy", np.array([5, 6], np.int32))
    out = tmp_path / "out"
    run_program(["saved_model_cli", "run", "--dir", saved_model_dir, "--tag_set", "serve",
                 "--signature_def", "serving_default", "--outdir", str(out), "--inputs",
                 f"z={tmp_path / 'z.npy'};labels={tmp_path / 'labels.npy'}"])
    expected = generators[0]([z, np.array([5, 6], np.int32)], training=False).numpy()
    np.testing.assert_allclose(np.load(out / "images_float.npy"), expected, rtol=0,
                               atol=GENERATOR_ATOL)
    proc = subprocess.run(
        ["saved_model_cli", "run", "--dir", saved_model_dir, "--tag_set", "serve",
         "--signature_def", "generate", "--input_exprs", "labels=[12];seed=0;truncation=0.0"],
        capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert proc.returncode != 0
    assert "`labels` must be class ids in [0, 10)" in proc.stderr


def test_an_existing_version_is_refused(model_dir, export_base):
    with pytest.raises(FileExistsError, match=r"Version 1 already exists .* as version 2"):
        exporter.export_model_dir(model_dir, export_base, 1)
    assert sorted(os.listdir(export_base)) == ["1", "models.config"]


# A sagan-export process (about 9 s of CPU); test_program_errors checks the program's other
# refusals in the default run.
@pytest.mark.slow
def test_the_program_refuses_an_existing_version(model_dir, export_base):
    proc = subprocess.run(["sagan-export", f"--model_dir={model_dir}",
                           f"--export_base={export_base}", "--version=1"],
                          capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert proc.returncode != 0 and "Version 1 already exists" in proc.stderr
    assert sorted(os.listdir(export_base)) == ["1", "models.config"]


@pytest.mark.parametrize("version", [0, -2, 1.5, "3", True])
def test_version_must_be_a_positive_integer(tmp_path, version):
    with pytest.raises(ValueError, match=re.escape(
            f"`version` must be a positive integer. Received: version={version}")):
        exporter.resolve_version(str(tmp_path), version)


def test_next_version_counts_numbered_directories_only(tmp_path):
    for name in ("1", "3", ".tmp-4-abc", "backup"):
        (tmp_path / name).mkdir()
    (tmp_path / "7").write_text("a file, not a version")
    assert exporter.existing_versions(str(tmp_path)) == [1, 3]
    assert exporter.next_version(str(tmp_path)) == 4
    assert exporter.resolve_version(str(tmp_path)) == 4
    assert exporter.next_version(str(tmp_path / "missing")) == 1


def _tiny_generator():
    return sagan_tf.build_generator("sagan32", 3, channels=[8, 8, 8], latent_dim=4)


def test_the_version_appears_only_when_complete(tmp_path, monkeypatch):
    base = tmp_path / "base"
    seen = []

    def failing_save(obj, path, signatures=None, **kwargs):
        seen.append(sorted(os.listdir(base)))
        (tmp_path / "marker").write_text(path)
        with open(os.path.join(path, "saved_model.pb"), "w") as f:
            f.write("half")
        raise OSError("disk full")

    monkeypatch.setattr(exporter.tf.saved_model, "save", failing_save)
    with pytest.raises(OSError, match="disk full"):
        exporter.export_generator(_tiny_generator(), str(base), 1, num_classes=3)
    # While writing, only a hidden, non-numeric temp dir existed; after the failure
    # nothing is left that TF Serving could load.
    (temp,) = seen[0]
    assert temp.startswith(".tmp-1-") and not temp.isdigit()
    assert (tmp_path / "marker").read_text() == str(base / temp)
    assert os.listdir(base) == []


@pytest.mark.slow  # 11 s; --overwrite's refusal without the flag stays default
def test_overwrite_replaces_a_version(model_dir, generators, tmp_path):
    base = str(tmp_path / "base")
    z = np.random.RandomState(4).randn(3, 128).astype(np.float32)
    labels = np.array([1, 2, 3], np.int32)

    def exported_images():
        loaded = tf.saved_model.load(os.path.join(base, "1"))
        return loaded.signatures["serving_default"](
            z=tf.constant(z), labels=tf.constant(labels))["images_float"].numpy()

    exporter.export_model_dir(model_dir, base, use_ema=False)  # no version: 1
    raw = generators[1]([z, labels], training=False).numpy()
    np.testing.assert_allclose(exported_images(), raw, rtol=0, atol=GENERATOR_ATOL)
    with pytest.raises(FileExistsError):
        exporter.export_model_dir(model_dir, base, 1)
    exporter.export_model_dir(model_dir, base, 1, overwrite=True)
    ema = generators[0]([z, labels], training=False).numpy()
    np.testing.assert_allclose(exported_images(), ema, rtol=0, atol=GENERATOR_ATOL)
    assert sorted(os.listdir(base)) == ["1", "models.config"]


def test_models_config_takes_name_and_server_path(tmp_path):
    path = exporter.write_model_config(str(tmp_path), "faces", "/srv/models/faces")
    text = open(path).read()
    assert text.startswith("# TF Serving model config written by sagan-export")
    config = text_format.Parse(text, model_server_config_pb2.ModelServerConfig())
    assert config.model_config_list.config[0].name == "faces"
    assert config.model_config_list.config[0].base_path == "/srv/models/faces"


def test_metadata_holds_the_default_batch_limit(saved_model_dir):
    with open(os.path.join(saved_model_dir, "assets.extra", "sagan_tf.json")) as f:
        assert json.load(f)["max_batch_size"] == 256


def test_export_generator_stores_its_batch_limit(tmp_path):
    base = str(tmp_path / "base")
    path = exporter.export_generator(_tiny_generator(), base, 1, num_classes=3,
                                     warmup_batch_sizes=[1, 4], max_batch_size=4)
    with open(os.path.join(path, "assets.extra", "sagan_tf.json")) as f:
        assert json.load(f)["max_batch_size"] == 4
    loaded = tf.saved_model.load(path)
    assert int(loaded.max_batch_size.numpy()) == 4


def _limit_error(sizes, limit):
    return re.escape(
        f"Warmup batch sizes {sizes} exceed the export's batch limit {limit}: their "
        "warmup requests would fail and TF Serving would not load the version. Lower "
        "--warmup_batch_sizes (`warmup_batch_sizes`) or raise --max_batch_size")


def test_warmup_batches_over_the_limit_are_refused_before_anything_is_written(
        tmp_path, monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("the check must come first")

    base = tmp_path / "base"
    monkeypatch.setattr(exporter.tf.saved_model, "save", never)
    with pytest.raises(ValueError, match=_limit_error([5, 8], 4)):
        exporter.export_generator(_tiny_generator(), str(base), 1, num_classes=3,
                                  warmup_batch_sizes=[1, 5, 4, 8], max_batch_size=4)
    assert not base.exists()
    with pytest.raises(ValueError, match=_limit_error([300], 256)):  # the default limit
        exporter.export_generator(_tiny_generator(), str(base), 1, num_classes=3,
                                  warmup_batch_sizes=[300])
    # From a model_dir: refused before the checkpoint is restored.
    monkeypatch.setattr(exporter, "RunDir", never)
    with pytest.raises(ValueError, match=_limit_error([3], 2)):
        exporter.export_model_dir("unused", str(base), warmup_batch_sizes=[1, 3],
                                  max_batch_size=2)
    with pytest.raises(ValueError, match="`max_batch_size` must be a positive integer"):
        exporter.export_model_dir("unused", str(base), max_batch_size=0)
    assert not base.exists()


@pytest.mark.slow  # a sagan-export start (9 s); the refusal itself is checked in-process above
def test_sagan_export_refuses_warmup_sizes_over_max_batch_size(model_dir, tmp_path):
    base = tmp_path / "base"
    proc = subprocess.run(["sagan-export", f"--model_dir={model_dir}", f"--export_base={base}",
                           "--max_batch_size=2", "--warmup_batch_sizes=1,3"],
                          capture_output=True, text=True, env=subprocess_env(), timeout=300)
    assert proc.returncode != 0
    assert "Warmup batch sizes [3] exceed the export's batch limit 2" in proc.stderr
    assert "--warmup_batch_sizes" in proc.stderr and "--max_batch_size" in proc.stderr
    assert not base.exists()


def test_standing_stats_are_exported_and_the_checkpoint_stays_as_it_was(model_dir, tmp_path):
    checkpoints = sagan_tf.run_dir.RunDir(model_dir).checkpoints
    on_disk = {n: open(os.path.join(checkpoints, n), "rb").read()
               for n in sorted(os.listdir(checkpoints))}
    base = str(tmp_path / "base")
    exporter.export_model_dir(model_dir, base, 1, standing_stats=3)
    assert {n: open(os.path.join(checkpoints, n), "rb").read()
            for n in sorted(os.listdir(checkpoints))} == on_disk
    with open(os.path.join(base, "1", "assets.extra", "sagan_tf.json")) as f:
        assert json.load(f)["standing_stats"] == 3
    generator, config, _ = sagan_tf.run_dir.RunDir(model_dir).load_generator()
    z = tf.constant(np.random.RandomState(5).randn(4, 128).astype(np.float32))
    labels = tf.constant([0, 3, 6, 9], tf.int32)
    moving = generator([z, labels], training=False).numpy()
    apply_standing_stats(generator, 3, config.batch_size, config.num_classes, seed=0)
    standing = generator([z, labels], training=False).numpy()
    exported = tf.saved_model.load(os.path.join(base, "1")).signatures["serving_default"](
        z=z, labels=labels)["images_float"].numpy()
    np.testing.assert_allclose(exported, standing, rtol=0, atol=GENERATOR_ATOL)
    assert np.abs(exported - moving).max() > 1e-2

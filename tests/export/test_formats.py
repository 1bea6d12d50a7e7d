"""sagan-export --format=onnx|tflite: each file, run by its own runtime (onnxruntime, the
LiteRT interpreter), gives the SavedModel's images for the same z and labels."""

import json
import os
import re
import subprocess

import numpy as np
import onnxruntime
import pytest
import tensorflow as tf
from ai_edge_litert.interpreter import Interpreter

import sagan_tf
from export import converters, exporter
from programs import run_program, subprocess_env
from tiny_models import TINY_G
from sagan_tf import storage

CONVERTED = sorted(name for name, f in converters.FORMATS.items() if f.convert is not None)

# Tolerance of images_float (tanh outputs in [-1, 1]) between TensorFlow and another
# runtime, float32 both: the runtimes pick other kernels (onnxruntime's MLAS, LiteRT's
# XNNPACK, TF's oneDNN or Eigen) that sum the up to 3 * 3 * 16 products of each
# convolution output and the attention's dot products in other orders, with or without
# FMA, and constant-fold the spectral normalization (W / sigma) before run time where
# TF divides at run time. Each reordering moves a result by a few float32 ulps
# (6e-8 near 1), and the generator's ~10 layers carry such errors through batch norms
# with gains up to 1.5: measured at most 2.1e-6 over 64 images of such a generator
# (both formats, conditional and unconditional). 1e-4 is ~50 times that and far below
# the 1 / 127.5 of one uint8 step, with room for AVX2 or AVX-512, oneDNN on or off.
ATOL = 1e-4


def run_onnx(model_bytes, inputs):
    session = onnxruntime.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(None, inputs)))


def run_tflite(model_bytes, inputs):
    runner = Interpreter(model_content=model_bytes).get_signature_runner("serving_default")
    return runner(**inputs)


RUNTIMES = {converters.ONNX: run_onnx, converters.TFLITE: run_tflite}


def test_every_converted_format_has_a_runtime_here():
    assert sorted(RUNTIMES) == CONVERTED


def saved_model_outputs(path, inputs):
    signature = tf.saved_model.load(path).signatures["serving_default"]
    return {k: v.numpy() for k, v in signature(**{k: tf.constant(v) for k, v in
                                                  inputs.items()}).items()}


def assert_same_images(got, expected):
    assert sorted(got) == ["images", "images_float"]
    assert got["images"].dtype == np.uint8 and got["images_float"].dtype == np.float32
    assert got["images_float"].shape == expected["images_float"].shape
    np.testing.assert_allclose(got["images_float"], expected["images_float"], rtol=0,
                               atol=ATOL)
    # uint8: the same rule on floats ATOL apart, so one step at most where a float lies
    # within ATOL of a rounding boundary, and exact everywhere else.
    diff = np.abs(got["images"].astype(int) - expected["images"].astype(int))
    assert diff.max() <= 1
    scaled = (expected["images_float"].astype(np.float64) + 1) * 127.5
    near_boundary = np.abs(scaled - np.floor(scaled) - 0.5) < ATOL * 127.5
    assert not np.any(diff[~near_boundary])


@pytest.fixture(scope="module")
def converted_exports(model_dir, tmp_path_factory):
    """{format: its version directory}, written by `sagan-export --format=...`."""
    exports = {}
    for name in CONVERTED:
        base = str(tmp_path_factory.mktemp(name) / "exports")
        proc = run_program(["sagan-export", f"--model_dir={model_dir}",
                            f"--export_base={base}", f"--format={name}"])
        exports[name] = proc.stdout.strip().splitlines()[-1]
        assert exports[name] == os.path.join(base, "1")
    return exports


@pytest.mark.slow  # a sagan-export subprocess per format; the unconditional test is not
@pytest.mark.parametrize("name", CONVERTED)
def test_a_conditional_run_exported_by_the_program_gives_the_saved_models_images(
        name, converted_exports, saved_model_dir, model_dir):
    version = converted_exports[name]
    file_name = converters.FORMATS[name].file_name
    assert sorted(os.listdir(os.path.dirname(version))) == ["1"]  # no models.config, no temp
    assert sorted(os.listdir(version)) == sorted([file_name, exporter.METADATA_FILE])
    with open(os.path.join(version, exporter.METADATA_FILE)) as f:
        info = json.load(f)
    assert (info["format"], info["file"], info["latent_dim"], info["num_classes"]) == (
        name, file_name, 128, 10)
    assert info["inputs"] == {"z": ["float32", [-1, 128]], "labels": ["int32", [-1]]}
    assert info["class_names"] == [f"digit_{i}" for i in range(10)]
    assert info["ema"] is True and info["model_dir"] == os.path.abspath(model_dir)
    with open(os.path.join(version, file_name), "rb") as f:
        model_bytes = f.read()
    rng = np.random.RandomState(7)
    for n in (3, 10):  # the batch dimension is free
        inputs = {"z": rng.randn(n, 128).astype(np.float32),
                  "labels": rng.randint(0, 10, n).astype(np.int32)}
        assert_same_images(RUNTIMES[name](model_bytes, inputs),
                           saved_model_outputs(saved_model_dir, inputs))


@pytest.mark.slow  # the exports of the test above
@pytest.mark.parametrize("name", CONVERTED)
def test_labels_outside_the_classes_fail_in_the_runtime(name, converted_exports):
    path = os.path.join(converted_exports[name], converters.FORMATS[name].file_name)
    with open(path, "rb") as f:
        model_bytes = f.read()
    z = np.zeros((2, 128), np.float32)
    for bad in (10, -1):  # -1 would wrap to class 9 without the mapping
        with pytest.raises(Exception, match="(?i)out of .*bounds"):
            RUNTIMES[name](model_bytes, {"z": z, "labels": np.array([0, bad], np.int32)})


def _unconditional_generator():
    """A small unconditional generator with batch statistics measured on its own
    output, so that activations are in a normal range."""
    generator = sagan_tf.build_generator("sagan32", None, **TINY_G, latent_dim=8)
    rng = np.random.RandomState(3)
    for w in generator.weights:
        if w.path.endswith("/gamma") and not w.shape:  # attention on
            w.assign(np.float32(0.7))
    for _ in range(25):
        generator(rng.randn(16, 8).astype(np.float32), training=True)
    return generator


@pytest.mark.parametrize("name", CONVERTED)
def test_an_unconditional_generator_on_any_filesystem(name, tmp_path):
    generator = _unconditional_generator()
    saved = exporter.export_generator(generator, str(tmp_path / "serving"), 1,
                                      num_classes=None)
    base = f"ram://formats_{name}/exports"
    version = exporter.export_converted(generator, base, export_format=name,
                                        num_classes=None)
    assert version == f"{base}/1"
    info = storage.read_json(storage.join(version, exporter.METADATA_FILE))
    assert info["unconditional"] and info["inputs"] == {"z": ["float32", [-1, 8]]}
    model_bytes = storage.read_bytes(storage.join(version, converters.FORMATS[name].file_name))
    inputs = {"z": np.random.RandomState(5).randn(6, 8).astype(np.float32)}
    expected = saved_model_outputs(saved, inputs)
    assert expected["images_float"].std() > 0.05  # not a flat image
    assert_same_images(RUNTIMES[name](model_bytes, inputs), expected)
    # A second export is version 2; --overwrite semantics as the SavedModel's.
    with pytest.raises(FileExistsError, match="Version 1 already exists"):
        exporter.export_converted(generator, base, 1, export_format=name, num_classes=None)
    assert exporter.export_converted(generator, base, export_format=name,
                                     num_classes=None) == f"{base}/2"


def test_a_converted_format_is_refused_in_a_directory_tf_serving_watches(export_base):
    generator = sagan_tf.build_generator("sagan32", None, channels=[8, 8, 8], latent_dim=4)
    for name in CONVERTED:
        with pytest.raises(ValueError, match=f"holds models.config: TF Serving watches it .* "
                                             f"Write --format={name} to another directory"):
            exporter.export_converted(generator, export_base, export_format=name,
                                      num_classes=None)
    assert sorted(os.listdir(export_base)) == ["1", "models.config"]


def _error_line(*args):
    proc = subprocess.run(list(args), capture_output=True, text=True, env=subprocess_env(),
                          timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr
    return proc.stderr.strip().splitlines()[-1]


@pytest.mark.slow  # two sagan-export starts (18 s); the format table's refusal below is default
def test_the_program_refuses_an_unknown_format_and_serving_flags_by_name(model_dir, tmp_path):
    base = tmp_path / "exports"
    line = _error_line("sagan-export", f"--model_dir={model_dir}", f"--export_base={base}",
                       "--format=pt")
    assert line.startswith("sagan-export: error: ") and "--format=pt" in line
    for name in converters.FORMATS:
        assert name in line
    line = _error_line("sagan-export", f"--model_dir={model_dir}", f"--export_base={base}",
                       f"--format={CONVERTED[0]}", "--warmup_batch_sizes=1,2")
    assert line == ("sagan-export: error: --warmup_batch_sizes: for "
                    f"--format=saved_model (TF Serving) only. Received: --format={CONVERTED[0]}")
    assert not base.exists()


def test_an_unknown_format_is_refused_by_name():
    with pytest.raises(ValueError, match=re.escape(
            f"`format` must be one of {sorted(converters.FORMATS)}. Received: format='pt'")):
        converters.get_format("pt")

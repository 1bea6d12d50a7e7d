"""sagan-sample --num_images=N --output_dir=DIR: a folder of PNGs, one image each,
resumable, on any TF filesystem."""

import io
import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from export import sample_folder, sampling
from noise_reference import documented_z
from programs import run_program, subprocess_env
from sagan_tf import storage

NUM_CLASSES = 10


@pytest.fixture(scope="module")
def sampler(model_dir):
    return sampling.Sampler.from_model_dir(model_dir, batch_size=4)


def read_png(path):
    return np.asarray(Image.open(io.BytesIO(storage.read_bytes(path))))


def folder_files(root):
    """{relative path: bytes} of every file below `root` (any TF filesystem)."""
    files = {}
    for directory, _, names in tf.io.gfile.walk(root):
        for name in names:
            path = storage.join(directory, name)
            files[os.path.relpath(path, root)] = storage.read_bytes(path)
    return files


def expected_uint8(generator, seed, indices, truncation=0.0):
    """The generator's images for z rows `indices` of the seed's documented z and labels
    i % 10, quantized by the documented rule, and the floats' distance to the nearest
    rounding boundary (in uint8 steps)."""
    z = documented_z(seed, max(indices) + 1, 128, truncation)[indices]
    labels = (np.asarray(indices) % NUM_CLASSES).astype(np.int32)
    x = generator([z, labels], training=False).numpy().astype(np.float64)
    scaled = (x + 1) * 127.5
    return np.clip(np.round(scaled), 0, 255), np.abs(scaled - np.floor(scaled) - 0.5)


def assert_pixels_are_the_generators(root, generator, seed, num, truncation=0.0):
    expected, boundary = expected_uint8(generator, seed, list(range(num)), truncation)
    for i in range(num):
        got = read_png(sample_folder.image_path(root, seed, i, i % NUM_CLASSES))
        assert got.shape == (32, 32, 3) and got.dtype == np.uint8
        diff = np.abs(got.astype(int) - expected[i])
        # The sampler's graph and this eager call differ by float32 rounding (2e-5 at
        # most in the export tests): a pixel may land one step off only where the
        # float lies that close to a rounding boundary (2e-5 * 127.5 steps).
        assert diff.max() <= 1 and not np.any(diff[boundary[i] > 2e-5 * 127.5])


def test_a_folder_on_ram_holds_n_images_in_class_folders(sampler, generators):
    root = "ram://sample_folder/one_run"
    written, kept = sample_folder.write_sample_folder(sampler, root, 23, seed=5,
                                                      progress=False)
    assert (written, kept) == (23, 0)
    files = folder_files(root)
    assert set(files) == {sample_folder.MANIFEST_FILE} | {
        f"class_{i % NUM_CLASSES}/seed5_{i:06d}.png" for i in range(23)}
    assert_pixels_are_the_generators(root, generators[0], 5, 23)


def test_a_resumed_folder_keeps_its_files_and_writes_the_same_bytes(sampler):
    once = "ram://sample_folder/once"
    sample_folder.write_sample_folder(sampler, once, 14, seed=2, truncation=0.7,
                                      progress=False)
    resumed = "ram://sample_folder/resumed"
    assert sample_folder.write_sample_folder(sampler, resumed, 6, seed=2, truncation=0.7,
                                             progress=False) == (6, 0)
    # An image already there is kept as it is (here: replaced by another picture),
    # and a temporary file a killed run left behind is deleted.
    kept_path = sample_folder.image_path(resumed, 2, 3, 3)
    marker = storage.read_bytes(sample_folder.image_path(once, 2, 9, 9))
    storage.write_atomically(kept_path, marker)
    storage.remove(sample_folder.image_path(resumed, 2, 1, 1))
    stale = sample_folder.image_path(resumed, 2, 7, 7) + ".tmp-12345"
    storage.write_atomically(stale, b"half a png")
    assert sample_folder.write_sample_folder(sampler, resumed, 14, seed=2, truncation=0.7,
                                             progress=False) == (9, 5)
    a, b = folder_files(once), folder_files(resumed)
    assert set(a) == set(b)
    rel = os.path.relpath(kept_path, resumed)
    assert b[rel] == marker
    assert {k: v for k, v in a.items() if k != rel} == {k: v for k, v in b.items() if k != rel}
    assert sample_folder.write_sample_folder(sampler, resumed, 14, seed=2, truncation=0.7,
                                             progress=False) == (0, 14)


def test_resuming_with_other_settings_is_refused(sampler):
    root = "ram://sample_folder/settings"
    sample_folder.write_sample_folder(sampler, root, 2, seed=1, progress=False)
    with pytest.raises(ValueError, match=r"holds samples made with other settings "
                                         r"\(truncation: 0.0 there, 0.5 now\)"):
        sample_folder.write_sample_folder(sampler, root, 4, seed=1, truncation=0.5,
                                          progress=False)
    with pytest.raises(ValueError, match="`num_images` must be a positive integer"):
        sample_folder.write_sample_folder(sampler, root, 0, seed=1, progress=False)


def test_an_unconditional_model_writes_a_flat_folder():
    def images_fn(z, labels):  # a stand-in generator: the first 3 z values, everywhere
        assert labels is None
        return np.tanh(np.broadcast_to(z[:, None, None, :3], (len(z), 4, 4, 3)))

    sampler = sampling.Sampler(images_fn, 3, None, batch_size=3)
    root = "ram://sample_folder/unconditional"
    assert sample_folder.write_sample_folder(sampler, root, 5, seed=9,
                                             progress=False) == (5, 0)
    files = folder_files(root)
    assert set(files) == {sample_folder.MANIFEST_FILE} | {f"seed9_{i:06d}.png"
                                                          for i in range(5)}
    z = documented_z(9, 5, 3)
    for i in range(5):
        expected = np.clip(np.round((np.tanh(z[i]) + 1) * 127.5), 0, 255)
        got = read_png(sample_folder.image_path(root, 9, i))
        assert np.abs(got[0, 0].astype(int) - expected).max() <= 1
        assert (got == got[0, 0]).all()


def _program_args(model_dir, root):
    return ["sagan-sample", f"--model_dir={model_dir}", f"--output_dir={root}", "--seed=4",
            "--batch_size=4"]


def test_the_program_writes_a_folder(model_dir, generators, tmp_path):
    root = tmp_path / "samples"
    proc = run_program(_program_args(model_dir, root) + ["--num_images=3"])
    assert proc.stdout.strip().splitlines()[-1] == str(root)
    assert "0 of 3 images there, writing 3" in proc.stdout
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*")
                  if p.is_file()) == [f"class_{i}/seed4_{i:06d}.png" for i in range(3)] + [
                      sample_folder.MANIFEST_FILE]
    assert_pixels_are_the_generators(str(root), generators[0], 4, 3)


@pytest.mark.slow  # two sagan-sample runs; the in-process resume test is not slow
def test_the_program_resumes_a_folder(model_dir, generators, tmp_path):
    root = tmp_path / "samples"
    run_program(_program_args(model_dir, root) + ["--num_images=7"])
    first = {p: p.read_bytes() for p in root.rglob("*.png")}
    assert len(first) == 7
    proc = run_program(_program_args(model_dir, root) + ["--num_images=12"])
    assert "7 of 12 images there, writing 5" in proc.stdout
    assert sorted(p.relative_to(root).as_posix() for p in root.rglob("*.png")) == sorted(
        f"class_{i % NUM_CLASSES}/seed4_{i:06d}.png" for i in range(12))
    assert all(p.read_bytes() == data for p, data in first.items())
    assert_pixels_are_the_generators(str(root), generators[0], 4, 12)


@pytest.mark.slow  # 19 s of program starts; the folder writer's refusals stay default in-process
def test_the_program_refuses_sheet_flags_and_a_missing_count(model_dir, tmp_path):
    args = _program_args(model_dir, tmp_path / "samples")
    for extra, message in (
            (["--num_images=3", "--label=2"],
             "--label: for sheets (--output) only, not for --output_dir."),
            ([], "--output_dir takes --num_images=N, N >= 1. Received: --num_images=None")):
        proc = subprocess.run(args + extra, capture_output=True, text=True,
                              env=subprocess_env(), timeout=300)
        assert proc.returncode == 1 and "Traceback" not in proc.stderr
        assert proc.stderr.strip().splitlines()[-1] == f"sagan-sample: error: {message}"
    assert not (tmp_path / "samples").exists()

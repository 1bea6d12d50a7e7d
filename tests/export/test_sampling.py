"""Sample sheets from a model_dir and from its export; the sagan-sample program."""

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from export import sampling
from programs import run_program
from sagan_tf.run_dir import RunDir
from sagan_tf.standing_stats import apply_standing_stats
from noise_reference import documented_z
from tolerances import GENERATOR_ATOL, Z_ATOL, assert_same_pixels_up_to_ties, uint8_of

PAD = 2
SIZE = 32


@pytest.fixture(scope="module")
def run_sampler(model_dir):
    return sampling.Sampler.from_model_dir(model_dir, batch_size=7)


@pytest.fixture(scope="module")
def export_sampler(export_base):
    return sampling.Sampler.from_saved_model(export_base)  # export_base -> its latest version


def tile(grid, row, col):
    y, x = PAD + row * (SIZE + PAD), PAD + col * (SIZE + PAD)
    return grid[y:y + SIZE, x:x + SIZE]


def tiles(grid, rows, cols):
    """The [rows, cols, SIZE, SIZE, 3] images of a sheet's grid."""
    return np.stack([np.stack([tile(grid, r, c) for c in range(cols)]) for r in range(rows)])


def assert_same_sheet_up_to_rounding(a, b):
    """Sheets `a` and `b` of the same z and labels from two different computations (the
    run's Keras generator eagerly in batches of 7, the export's graph in batches of 64):
    floats within GENERATOR_ATOL (tests/tolerances.py), each grid exactly the uint8 rule
    of its own floats (the same computation), the two grids one level apart at most and
    only where a float is within GENERATOR_ATOL of a rounding tie."""
    np.testing.assert_array_equal(a.z, b.z)  # one formula, this process
    np.testing.assert_allclose(a.images, b.images, rtol=0, atol=GENERATOR_ATOL)
    rows, cols = a.images.shape[:2]
    for sheet in (a, b):
        np.testing.assert_array_equal(tiles(sheet.grid, rows, cols), uint8_of(sheet.images))
    assert_same_pixels_up_to_ties(tiles(a.grid, rows, cols), b.images)


@pytest.mark.parametrize("truncation", [0.0, 0.5])
def test_class_grid_from_model_dir_and_export_are_the_same_pixels(run_sampler, export_sampler,
                                                                  truncation):
    a = sampling.class_grid(run_sampler, per_class=3, seed=12, truncation=truncation)
    b = sampling.class_grid(export_sampler, per_class=3, seed=12, truncation=truncation)
    assert a.grid.shape == (10 * (SIZE + PAD) + PAD, 3 * (SIZE + PAD) + PAD, 3)
    assert_same_sheet_up_to_rounding(a, b)


def test_class_grid_rows_are_classes_and_columns_share_z(run_sampler, generators):
    sheet = sampling.class_grid(run_sampler, per_class=2, seed=3)
    z = documented_z(3, 2, 128, 0.0)
    np.testing.assert_allclose(sheet.z, np.broadcast_to(z, (10, 2, 128)), rtol=0, atol=Z_ATOL)
    np.testing.assert_array_equal(sheet.labels, np.arange(10))
    for label in range(10):
        expected = generators[0]([z, np.full(2, label, np.int32)], training=False).numpy()
        # batch 2 eagerly vs the sampler's batches of 7: tests/tolerances.py
        np.testing.assert_allclose(sheet.images[label], expected, rtol=0, atol=GENERATOR_ATOL)
        for col in range(2):
            np.testing.assert_array_equal(tile(sheet.grid, label, col),
                                          uint8_of(sheet.images[label, col]))
    # Classes change the images: no two rows alike.
    rows = sheet.images.reshape(10, -1)
    assert min(np.abs(rows[i] - rows[j]).max() for i in range(10) for j in range(i)) > 0.05


def test_class_grid_row_is_what_generate_returns(export_sampler, saved_model_dir):
    sheet = sampling.class_grid(export_sampler, per_class=4, seed=21, truncation=0.8,
                                labels=[6])
    loaded = tf.saved_model.load(saved_model_dir)
    out = loaded.signatures["generate"](labels=tf.constant([6] * 4, tf.int32),
                                        seed=tf.constant(21, tf.int64),
                                        truncation=tf.constant(0.8))
    # The export's serving_default (z from this process) and its generate (z in the
    # graph): two graphs of one generator, tests/tolerances.py.
    np.testing.assert_allclose(sheet.images[0], out["images_float"].numpy(), rtol=0,
                               atol=GENERATOR_ATOL)
    assert sheet.grid.shape[0] == SIZE + 2 * PAD  # --label: one row


def test_interpolation_end_points_are_the_two_seeds_images(run_sampler, generators):
    sheet = sampling.interpolation_grid(run_sampler, 4, 9, steps=5, truncation=0.0,
                                        labels=[2, 7])
    z_start, z_end = documented_z(4, 1, 128, 0.0)[0], documented_z(9, 1, 128, 0.0)[0]
    assert sheet.images.shape == (2, 5, SIZE, SIZE, 3)
    for row, label in enumerate([2, 7]):
        np.testing.assert_allclose(sheet.z[row, 0], z_start, rtol=0, atol=Z_ATOL)
        np.testing.assert_allclose(sheet.z[row, -1], z_end, rtol=0, atol=Z_ATOL)
        np.testing.assert_allclose(sheet.z[row, 2], (z_start + z_end) / 2, rtol=0, atol=Z_ATOL)
        ends = generators[0]([np.stack([z_start, z_end]), np.full(2, label, np.int32)],
                             training=False).numpy()
        np.testing.assert_allclose(sheet.images[row, [0, -1]], ends, rtol=0,
                                   atol=GENERATOR_ATOL)  # batch 2 vs 7: tests/tolerances.py


def test_interpolation_from_model_dir_and_export_are_the_same_pixels(run_sampler,
                                                                     export_sampler):
    a = sampling.interpolation_grid(run_sampler, 1, 2, steps=4, truncation=0.7, labels=[0, 5])
    b = sampling.interpolation_grid(export_sampler, 1, 2, steps=4, truncation=0.7,
                                    labels=[0, 5])
    assert_same_sheet_up_to_rounding(a, b)


def test_sampler_metadata_and_label_errors(run_sampler, export_sampler):
    for sampler in (run_sampler, export_sampler):
        assert (sampler.latent_dim, sampler.num_classes) == (128, 10)
        assert sampler.class_names == tuple(f"digit_{i}" for i in range(10))
        with pytest.raises(ValueError, match=r"`labels` must be in \[0, 10\) .* Received: \[10\]"):
            sampling.class_grid(sampler, 1, labels=[10])
    with pytest.raises(ValueError, match="`per_class` must be a positive integer"):
        sampling.class_grid(run_sampler, 0)


def test_resolve_saved_model_picks_the_highest_version(tmp_path, export_base):
    assert sampling.resolve_saved_model(export_base).endswith("/1")
    for version in ("2", "10"):
        (tmp_path / version).mkdir()
        (tmp_path / version / "saved_model.pb").write_bytes(b"")
    (tmp_path / "11").mkdir()  # no SavedModel inside
    assert sampling.resolve_saved_model(str(tmp_path)) == str(tmp_path / "10")
    with pytest.raises(FileNotFoundError, match="No SavedModel in"):
        sampling.resolve_saved_model(str(tmp_path / "11"))


def test_sagan_sample_writes_the_class_grid_png(export_base, export_sampler, tmp_path):
    out = tmp_path / "sheet" / "classes.png"
    run_program(["sagan-sample", f"--saved_model={export_base}", "--per_class=2", "--seed=8",
                 "--truncation=0.9", f"--output={out}"])
    # The same computation (the export's graph, batches of 64, the kernels this process
    # runs: the program inherits TF_ENABLE_ONEDNN_OPTS): the same bytes.
    expected = sampling.class_grid(export_sampler, per_class=2, seed=8, truncation=0.9)
    np.testing.assert_array_equal(np.asarray(Image.open(out)), expected.grid)


@pytest.mark.slow
def test_sagan_sample_interpolation_for_one_label_from_model_dir(model_dir, export_sampler,
                                                                 tmp_path):
    out = tmp_path / "interp.png"
    run_program(["sagan-sample", f"--model_dir={model_dir}", "--interpolate=3,7", "--steps=6",
                 "--label=4", f"--output={out}"])
    expected = sampling.interpolation_grid(export_sampler, 3, 7, 6, labels=[4])
    # The run's Keras generator against the export's graph: up to rounding ties.
    assert_same_pixels_up_to_ties(tiles(np.asarray(Image.open(out)), 1, 6), expected.images)


@pytest.fixture(scope="module")
def standing_sampler(model_dir):
    """The run's EMA generator with standing statistics over 3 passes, set up in this
    process."""
    generator, config, _ = RunDir(model_dir).load_generator()
    apply_standing_stats(generator, 3, config.batch_size, config.num_classes, seed=0)
    return sampling.Sampler(lambda z, labels: generator([z, labels], training=False),
                            128, config.num_classes, config.class_names)


def test_a_sampler_with_standing_stats_samples_a_generator_that_has_them(model_dir,
                                                                         run_sampler,
                                                                         standing_sampler):
    sampler = sampling.Sampler.from_model_dir(model_dir, standing_stats=3)
    z, labels = documented_z(8, 6, 128), np.arange(6, dtype=np.int32)
    images = sampler.images(z, labels)
    # Two generators restored and given standing statistics apart: tests/tolerances.py.
    np.testing.assert_allclose(images, standing_sampler.images(z, labels), rtol=0,
                               atol=GENERATOR_ATOL)
    assert np.abs(images - run_sampler.images(z, labels)).max() > 1e-2


@pytest.mark.slow
def test_sagan_sample_standing_stats_flag(model_dir, standing_sampler, tmp_path):
    out = tmp_path / "standing.png"
    run_program(["sagan-sample", f"--model_dir={model_dir}", "--per_class=2", "--seed=8",
                 "--standing_stats=3", f"--output={out}"])
    expected = sampling.class_grid(standing_sampler, 2, seed=8)
    # The program's generator and statistics against this process's eager call: up to
    # rounding ties (tests/tolerances.py).
    assert_same_pixels_up_to_ties(tiles(np.asarray(Image.open(out)), 10, 2), expected.images)

import numpy as np
import tensorflow as tf
from PIL import Image

from noise_reference import documented_z
from sagan_tf.grid import to_uint8
from sagan_tf.callbacks import SampleGrid
from sagan_tf.callbacks.sample_grid import sample_classes
from sagan_tf.summaries import read_events


def _tile(grid, row, col, size=32, pad=2):
    y, x = pad + row * (size + pad), pad + col * (size + pad)
    return grid[y:y + size, x:x + size]


def test_grid_rows_are_classes_columns_are_fixed_noise_of_the_ema_generator(tiny, tmp_path):
    model = tiny.model(tiny.config("x", ema_decay=0.5))
    writer = tf.summary.create_file_writer(str(tmp_path / "logs"))
    samples = tmp_path / "samples"
    model.fit(tiny.digits(), steps_per_epoch=3, verbose=0, callbacks=[
        SampleGrid(writer, str(samples), every=2, num_classes=10, seed=5, columns=3)])
    assert sorted(p.name for p in samples.iterdir()) == [
        "latest.png", "step_00000002.png", "step_00000003.png"]  # on schedule, and at the end
    grid = np.array(Image.open(samples / "step_00000003.png"))
    assert grid.shape == (10 * 34 + 2, 3 * 34 + 2, 3)
    assert (samples / "latest.png").read_bytes() == (samples / "step_00000003.png").read_bytes()

    # The documented fixed noise: sagan_tf.noise's formula (SciPy) for seed 5, stream 0,
    # the z that sagan-sample and the export's generate use for seed 5.
    z = tf.constant(documented_z(5, 3, 128))
    for row in (0, 4, 9):
        for col in (0, 2):
            image = model.ema_generator([z[col:col + 1], tf.constant([row])], training=False)
            np.testing.assert_allclose(_tile(grid, row, col), to_uint8(image)[0], atol=1)
    assert np.abs(_tile(grid, 0, 0).astype(int) - _tile(grid, 9, 0)).max() > 0  # classes
    assert np.abs(_tile(grid, 0, 0).astype(int) - _tile(grid, 0, 2)).max() > 0  # noise
    events = read_events(str(tmp_path / "logs"))["samples"]
    assert [step for step, _ in events] == [2, 3]
    np.testing.assert_array_equal(events[-1][1][0], grid)
    first = np.array(Image.open(samples / "step_00000002.png"))
    assert np.abs(first.astype(int) - grid).max() > 0  # a step later, other weights


def test_many_classes_are_spread_over_the_rows():
    np.testing.assert_array_equal(sample_classes(10, 16), np.arange(10))
    np.testing.assert_array_equal(sample_classes(1000, 5), [0, 250, 500, 749, 999])


def test_unconditional_grid_is_rows_by_columns_of_as_many_z(tiny, tmp_path):
    config = tiny.config("x", num_classes=None, class_names=(), unconditional=True)
    model = tiny.model(config)
    samples = tmp_path / "samples"
    model.fit(tiny.digits(), steps_per_epoch=1, verbose=0, callbacks=[
        SampleGrid(None, str(samples), every=1, num_classes=None, seed=5, columns=3,
                   rows=2)])
    grid = np.array(Image.open(samples / "latest.png"))
    assert grid.shape == (2 * 34 + 2, 3 * 34 + 2, 3)
    z = tf.constant(documented_z(5, 6, 128))  # image i: row i of the seed's z
    images = to_uint8(model.ema_generator(z, training=False))
    for i in range(6):
        np.testing.assert_allclose(_tile(grid, i // 3, i % 3), images[i], atol=1)

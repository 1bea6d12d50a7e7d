"""Grids of images of any channel count, read back from the PNG that save_png writes."""

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.grid import make_grid, save_png


@pytest.mark.parametrize("channels,shown", [(1, [0]), (3, [0, 1, 2]), (4, [0, 1, 2]),
                                            (7, [0, 1, 2]), (2, [0])])
def test_grid_png_shows_grey_rgb_or_the_first_bands(channels, shown):
    rng = np.random.RandomState(channels)
    images = rng.randint(0, 256, (5, 6, 4, channels)).astype(np.uint8)
    path = f"ram://grid_{channels}.png"
    save_png(make_grid(images, rows=2, padding=1), path)
    png = tf.io.decode_png(tf.io.read_file(path)).numpy()
    assert png.shape == (2 * 7 + 1, 3 * 5 + 1, len(shown))
    for i in range(5):
        r, c = divmod(i, 3)
        np.testing.assert_array_equal(png[1 + 7 * r:7 + 7 * r, 1 + 5 * c:5 + 5 * c],
                                      images[i][..., shown])

"""`load_dataset(..., image_channels=C)`: grey folders and arrays as 1 channel, arrays
of C bands as C channels, colour converted to grey by the BT.601 luma, against NumPy."""

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf import data


def _all(ds, n):
    images, labels = [], []
    for x, y in ds.take(n):
        images.append(x.numpy())
        labels.append(y.numpy())
    return np.concatenate(images), np.concatenate(labels)


def _load(source, channels, **kwargs):
    return data.load_dataset(source, resolution=8, global_batch_size=2, shuffle=False,
                             repeat=False, image_channels=channels, **kwargs)


def test_a_folder_of_grey_pngs_gives_one_channel(tmp_path):
    rng = np.random.RandomState(0)
    pixels = rng.randint(0, 256, (4, 8, 8, 1)).astype(np.uint8)
    for i, p in enumerate(pixels):
        (tmp_path / ("ab"[i % 2])).mkdir(exist_ok=True)
        tf.io.write_file(str(tmp_path / "ab"[i % 2] / f"{i}.png"), tf.io.encode_png(p))
    ds, info = _load(str(tmp_path), 1)
    images, labels = _all(ds, 2)
    assert info.image_shape == (8, 8, 1) and images.shape == (4, 8, 8, 1)
    # Sorted by class folder, then by name: a/0, a/2, b/1, b/3. Luma weights sum to 1
    # in float32 within an ulp: grey tiled to RGB comes back to 1e-6.
    order = [0, 2, 1, 3]
    np.testing.assert_allclose(images, pixels[order] / 127.5 - 1, atol=1e-5)
    np.testing.assert_array_equal(labels, [0, 0, 1, 1])


def test_colour_arrays_to_grey_are_the_bt601_luma():
    rgb = np.random.RandomState(1).randint(0, 256, (4, 8, 8, 3)).astype(np.uint8)
    images, _ = _all(_load((rgb, np.arange(4) % 2), 1)[0], 2)
    luma = rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    np.testing.assert_allclose(images[..., 0], luma / 127.5 - 1, atol=1e-5)


@pytest.mark.parametrize("bands", [4, 6])
def test_multispectral_arrays_keep_their_bands(bands):
    x = np.random.RandomState(bands).uniform(0, 1, (4, 8, 8, bands)).astype(np.float32)
    ds, info = _load((x, np.zeros(4, np.int32)), bands, value_range=(0, 1))
    images, _ = _all(ds, 2)
    assert info.image_shape == (8, 8, bands)
    np.testing.assert_allclose(images, x * 2 - 1, atol=1e-6)
    # At the default 3 channels, 4 bands are RGBA (alpha dropped); 6 are refused.
    if bands == 4:
        assert _all(_load((x, np.zeros(4, np.int32)), 3, value_range=(0, 1))[0],
                    1)[0].shape[-1] == 3
    else:
        with pytest.raises(ValueError, match="pass image_channels=6"):
            _load((x, np.zeros(4, np.int32)), 3, value_range=(0, 1))


def test_other_counts_need_images_of_that_many_channels():
    rgb = np.zeros((2, 8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=r"`image_channels=5` needs images of 5 channels"):
        _load((rgb, np.zeros(2, np.int32)), 5)
    with pytest.raises(ValueError, match="image_channels"):
        _load((rgb, np.zeros(2, np.int32)), 0)

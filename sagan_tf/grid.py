"""Image grids for sample sheets, TensorBoard and PNG files (NumPy and Pillow)."""

import io

import numpy as np

from sagan_tf import storage


def to_uint8(images):
    """float images in [-1, 1] -> uint8 in [0, 255] (round to nearest, clipped)."""
    images = np.asarray(images, np.float32)
    return np.clip(np.round((images + 1.0) * 127.5), 0, 255).astype(np.uint8)


def display_bands(images):
    """[N, H, W, C] -> what a PNG shows: 1 band (grey) and 3 (RGB) as they are; of other
    counts (multispectral), the first three bands as RGB, or the first as grey if C is 2."""
    channels = images.shape[-1]
    if channels in (1, 3):
        return images
    return images[..., :3] if channels > 3 else images[..., :1]


def make_grid(images, rows, padding=2, pad_value=255):
    """Tiles [N, H, W, C] images (uint8, or float in [-1, 1]) into rows x ceil(N/rows).

    Returns a uint8 [rows * (H + p) + p, cols * (W + p) + p, C'] array, image i at row
    i // cols, column i % cols; C' = C for grey (1) and RGB (3), else `display_bands`.
    """
    images = np.asarray(images)
    if images.ndim != 4:
        raise ValueError(f"`images` must be [N, H, W, C]. Received: shape={images.shape}")
    images = display_bands(images)
    if not isinstance(rows, int) or rows < 1:
        raise ValueError(f"`rows` must be a positive integer. Received: rows={rows}")
    if images.dtype != np.uint8:
        images = to_uint8(images)
    n, h, w, c = images.shape
    cols = -(-n // rows)
    grid = np.full((rows * (h + padding) + padding, cols * (w + padding) + padding, c),
                   pad_value, np.uint8)
    for i in range(n):
        r, col = divmod(i, cols)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y:y + h, x:x + w] = images[i]
    return grid


def save_png(grid, path):
    """Writes a uint8 [H, W, 1 or 3] array as a PNG (any TF filesystem, atomically)."""
    from PIL import Image  # pylint: disable=import-outside-toplevel

    grid = np.asarray(grid)
    if grid.shape[-1] == 1:
        grid = grid[..., 0]
    buffer = io.BytesIO()
    Image.fromarray(grid).save(buffer, format="PNG")
    return storage.write_atomically(path, buffer.getvalue())

"""Writes the digits' training split as 8x8 PNGs directly in one folder (no class
sub-folders): unconditional data for `sagan-train --dataset=<folder>` (README,
"Unconditional models").

    python bench/unconditional_folder.py /tmp/digits_flat
"""

import sys

from sagan_tf import storage  # first: oneDNN on before TensorFlow loads (sagan_tf/cpu.py)
import numpy as np
import tensorflow as tf

from sagan_tf.data import digits_arrays


def write_folder(root, split="train"):
    """The digits of `split` as `root/<index>.png` (0..16 -> 0..255); returns the count."""
    images, _ = digits_arrays(split, 8)
    pixels = np.round((images + 1) * 127.5).astype(np.uint8)
    for i, image in enumerate(pixels):
        storage.write_atomically(storage.join(root, f"{i:04d}.png"),
                                 tf.io.encode_png(image).numpy())
    return len(pixels)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python bench/unconditional_folder.py OUTPUT_FOLDER")
    print(f"{write_folder(sys.argv[1])} images written to {sys.argv[1]}")

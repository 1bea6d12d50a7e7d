"""A fixed-noise sample grid, one row per class, to TensorBoard and PNG files.

Column j of the grid uses row j of `sagan_tf.noise.latents(seed, columns, latent_dim)`
(the `SAMPLES` stream), the z that `sagan-sample --seed=<seed>` and the export's
`generate(seed=<seed>)` give to their j-th image: the grid of a run shows what its
export will return for the same seed and labels. An unconditional model has a plain
grid instead: image i (row i // columns, column i % columns) uses row i of
`noise.latents(seed, rows * columns, latent_dim)`, again the z of the export's i-th.
"""

import numpy as np
import tensorflow as tf

from sagan_tf import noise, storage
from sagan_tf.grid import make_grid, save_png
from sagan_tf import summaries
from sagan_tf.callbacks.periodic_writer import PeriodicWriter

def fixed_noise(seed, columns, latent_dim):
    """z of the grid's columns: `noise.latents(seed, columns, latent_dim)` of the
    `SAMPLES` stream, the same every call."""
    return noise.latents(seed, columns, latent_dim, stream=noise.SAMPLES)


def sample_classes(num_classes, max_rows):
    """The classes shown: all of them, or `max_rows` spread evenly over the labels."""
    if num_classes <= max_rows:
        return np.arange(num_classes)
    return np.unique(np.linspace(0, num_classes - 1, max_rows).round().astype(int))


def generate_grid(generator, z, classes, batch_size=256):
    """Images [len(classes) * len(z), H, W, 3] in [-1, 1]: row r is class classes[r],
    column c uses z[c] (the same z in every row). `classes=None` (an unconditional
    generator, `z -> images`): the images G(z[i]) in the order of z."""
    if classes is None:
        return np.concatenate([np.asarray(generator(z[i:i + batch_size], training=False),
                                          np.float32)
                               for i in range(0, int(z.shape[0]), batch_size)])
    columns = int(z.shape[0])
    labels = tf.constant(np.repeat(np.asarray(classes, np.int32), columns))
    noise = tf.tile(z, [len(classes), 1])
    images = [np.asarray(generator([noise[i:i + batch_size], labels[i:i + batch_size]],
                                   training=False), np.float32)
              for i in range(0, len(labels), batch_size)]
    return np.concatenate(images)


class SampleGrid(PeriodicWriter):
    """Every `every` steps and at the end: the sampling generator (the EMA one when the
    run keeps it) on fixed noise, one row per class, one column per z (unconditional:
    `rows` x `columns` images of as many z).

    Writes `samples/step_<step>.png` and `samples/latest.png` under `samples_dir`, and
    the `samples` image summary.

    Args:
        writer: a `tf.summary` writer, or None for PNG files only.
        samples_dir: where the PNG files go.
        every: write after steps divisible by this.
        num_classes: the data's classes; None for an unconditional model.
        seed: seed of the fixed noise.
        columns: samples per class (unconditional: per row).
        max_rows: at most this many classes (spread over the labels) when there are more.
        rows: rows of an unconditional model's grid.
    """

    def __init__(self, writer, samples_dir, every, num_classes, seed=0, columns=8,
                 max_rows=16, rows=8):
        super().__init__(every)
        self.writer = writer
        self.samples_dir = samples_dir
        self.classes = None if num_classes is None else sample_classes(num_classes, max_rows)
        self.rows = int(rows) if self.classes is None else len(self.classes)
        self.seed = int(seed)
        self.columns = int(columns)

    def write(self, step):
        """Writes the grid of the current weights as `step`; returns the PNG path."""
        generator = self.model.sampling_generator()
        count = self.columns if self.classes is not None else self.rows * self.columns
        z = fixed_noise(self.seed, count, self.model.latent_dim)
        grid = make_grid(generate_grid(generator, z, self.classes), rows=self.rows)
        path = save_png(grid, storage.join(self.samples_dir, f"step_{step:08d}.png"))
        storage.copy(path, storage.join(self.samples_dir, "latest.png"))
        if self.writer is not None:
            with self.writer.as_default(step=step):
                summaries.image("samples", grid[None])
            self.writer.flush()
        self.last_step = step
        return path

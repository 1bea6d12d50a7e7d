"""Sample sheets from a training run or from its export: class grids, interpolations.

A `Sampler` turns (z, labels) into images with either the generator of a model_dir
(restored from its checkpoint) or the `serving_default` signature of an exported
SavedModel; z always comes from `sagan_tf.noise.latents`, the formula of the export's
`generate` signature, so a seed gives the same images from both sources.

- `class_grid`: one row per class, `per_class` columns; column j uses row j of
  `latents(seed, per_class)` for every class, so a column shows one z across
  classes. Row c is what `generate(labels=[c] * per_class, seed, truncation)` returns.
- `interpolation_grid`: one row per class of `steps` images along the line from
  z(seed_start) to z(seed_end), with z(s) = `latents(s, 1)[0]` (row 0 of `generate`
  for seed s); the first and last columns are exactly those two z.
- `plain_grid` (unconditional models, which have no classes): `rows` x `columns`
  images, image i (row i // columns) from row i of `latents(seed, rows * columns)`,
  what `generate(seed, truncation, num_images=rows * columns)` returns in order. An
  unconditional model's interpolation sheet has one row.
"""

import dataclasses

import numpy as np
import tensorflow as tf

from sagan_tf import noise
from sagan_tf import grid as grid_lib
from sagan_tf.export_base import resolve_saved_model
from sagan_tf.run_dir import RunDir


class Sampler:
    """Generates images in [-1, 1] from (z, labels), in batches.

    Build it with `Sampler.from_model_dir` or `Sampler.from_saved_model`.

    Args:
        images_fn: callable `(z float32 [n, latent_dim], labels int32 [n]) -> float
            images [n, H, W, 3]` in [-1, 1] (tensors or arrays); labels are None for
            an unconditional model.
        latent_dim: the generator's z size.
        num_classes: number of classes; None for an unconditional model.
        class_names: optional class names.
        batch_size: largest batch passed to `images_fn`.
    """

    def __init__(self, images_fn, latent_dim, num_classes, class_names=(), batch_size=64):
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(
                f"`batch_size` must be a positive integer. Received: batch_size={batch_size}")
        self._images_fn = images_fn
        self.latent_dim = int(latent_dim)
        self.num_classes = None if num_classes is None else int(num_classes)
        self.class_names = tuple(class_names)
        self.batch_size = batch_size

    @classmethod
    def from_model_dir(cls, model_dir, use_ema=True, checkpoint=None, batch_size=64,
                       standing_stats=0):
        """The generator of a `sagan-train` run (its EMA generator when it kept one),
        with standing statistics over `standing_stats` passes if > 0 (see
        `RunDir.load_generator`)."""
        generator, config, _ = RunDir(model_dir).load_generator(use_ema, checkpoint,
                                                                standing_stats)
        latent_dim = int(generator.inputs[0].shape[-1])

        @tf.function(input_signature=[tf.TensorSpec([None, latent_dim], tf.float32),
                                      tf.TensorSpec([None], tf.int32)])
        def images_fn(z, labels):
            return generator([z, labels], training=False)

        @tf.function(input_signature=[tf.TensorSpec([None, latent_dim], tf.float32)])
        def unconditional_fn(z):
            return generator(z, training=False)

        if not config.conditional:
            return cls(lambda z, labels: unconditional_fn(z), latent_dim, None, (),
                       batch_size)
        return cls(images_fn, latent_dim, config.num_classes, config.class_names, batch_size)

    @classmethod
    def from_saved_model(cls, path, batch_size=64):
        """An export of `sagan-export`: a version directory, or an export_base (its
        highest version)."""
        path = resolve_saved_model(path)
        loaded = tf.saved_model.load(path)
        signature = loaded.signatures["serving_default"]
        conditional = "labels" in signature.structured_input_signature[1]

        def images_fn(z, labels):
            if not conditional:
                return signature(z=tf.constant(z, tf.float32))["images_float"]
            return signature(z=tf.constant(z, tf.float32),
                             labels=tf.constant(labels, tf.int32))["images_float"]

        names = [n.decode() for n in loaded.class_names.numpy()]
        num_classes = int(loaded.num_classes.numpy()) if conditional else None
        sampler = cls(images_fn, int(loaded.latent_dim.numpy()), num_classes, names,
                      batch_size)
        sampler._loaded = loaded  # keeps the variables alive
        return sampler

    def latents(self, seed, num, truncation=0.0):
        """`sagan_tf.noise.latents(seed, num, latent_dim, truncation)` as NumPy."""
        return noise.latents(seed, num, self.latent_dim, truncation, noise.SERVING).numpy()

    @property
    def conditional(self):
        """Whether the model is class-conditional (False: no labels)."""
        return self.num_classes is not None

    def images(self, z, labels=None):
        """float32 images [N, H, W, 3] in [-1, 1] for z [N, latent_dim] and labels [N]
        (None for an unconditional model)."""
        z = np.asarray(z, np.float32)
        labels = self.check_labels(labels)
        n = len(z) if labels is None else len(labels)
        if z.ndim != 2 or z.shape != (n, self.latent_dim):
            raise ValueError(f"`z` must be [N, {self.latent_dim}] with N = len(labels) = "
                             f"{n}. Received: shape={z.shape}")
        out = [np.asarray(self._images_fn(
                   z[i:i + self.batch_size],
                   None if labels is None else labels[i:i + self.batch_size]))
               for i in range(0, n, self.batch_size)]
        return np.concatenate(out).astype(np.float32)

    def check_labels(self, labels):
        """`labels` as int32 after checking they are class ids of this model (None for
        an unconditional model, which refuses labels)."""
        if not self.conditional:
            if labels is not None:
                raise ValueError("The model is unconditional: it has no classes and takes "
                                 "no labels (leave out --label).")
            return None
        labels = np.asarray(labels)
        if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
            raise ValueError(f"`labels` must be a 1D sequence of class ids. Received: {labels!r}")
        bad = labels[(labels < 0) | (labels >= self.num_classes)]
        if bad.size:
            raise ValueError(f"`labels` must be in [0, {self.num_classes}) (the model has "
                             f"{self.num_classes} classes). Received: {bad.tolist()}")
        return labels.astype(np.int32)


@dataclasses.dataclass(frozen=True)
class Sheet:
    """A sample sheet: the PNG-ready grid and what it is made of.

    Attributes:
        grid: uint8 [rows * (H + p) + p, cols * (W + p) + p, 3].
        images: float32 [rows, cols, H, W, 3] in [-1, 1]; tile (r, c) of `grid`.
        z: float32 [rows, cols, latent_dim].
        labels: int32 [rows], the class of each row (None: an unconditional model).
    """

    grid: np.ndarray
    images: np.ndarray
    z: np.ndarray
    labels: np.ndarray


def class_grid(sampler, per_class, seed=0, truncation=0.0, labels=None, padding=2):
    """One row per class of `per_class` samples that share z column by column.

    Args:
        sampler: a `Sampler`.
        per_class: number of columns.
        seed: noise seed (`sagan_tf.noise.latents`).
        truncation: > 0 truncates z to [-truncation, truncation]; <= 0 none.
        labels: the classes of the rows (default: all, in order).
        padding: pixels between tiles.

    Returns:
        A `Sheet`.
    """
    if not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"`per_class` must be a positive integer. Received: per_class={per_class}")
    labels = _row_labels(sampler, labels)
    z = np.broadcast_to(sampler.latents(seed, per_class, truncation),
                        (len(labels), per_class, sampler.latent_dim))
    return _sheet(sampler, z, labels, padding)


def plain_grid(sampler, rows, columns, seed=0, truncation=0.0, padding=2):
    """`rows` x `columns` samples of an unconditional model, in the order of
    `latents(seed, rows * columns)` (see the module docstring). Returns a `Sheet`
    whose `labels` are None."""
    for name, value in (("rows", rows), ("columns", columns)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")
    z = sampler.latents(seed, rows * columns, truncation).reshape(
        rows, columns, sampler.latent_dim)
    return _sheet(sampler, z, None, padding)


def interpolation_grid(sampler, seed_start, seed_end, steps=8, truncation=0.0, labels=None,
                       padding=2):
    """One row per class: `steps` images from z(seed_start) to z(seed_end), linearly
    (one row without labels for an unconditional model).

    Args:
        sampler: a `Sampler`.
        seed_start, seed_end: the seeds of the end points; z(s) = latents(s, 1)[0].
        steps: images per row (>= 2), end points included.
        truncation: applied to both end points.
        labels: the classes of the rows (default: all, in order).
        padding: pixels between tiles.

    Returns:
        A `Sheet`.
    """
    labels = _row_labels(sampler, labels)
    z_start = sampler.latents(seed_start, 1, truncation)[0]
    z_end = sampler.latents(seed_end, 1, truncation)[0]
    path = noise.interpolate(z_start, z_end, steps).numpy()
    rows = 1 if labels is None else len(labels)
    z = np.broadcast_to(path, (rows, steps, sampler.latent_dim))
    return _sheet(sampler, z, labels, padding)


def save_sheet(sheet, path):
    """Writes `sheet.grid` as a PNG (creating the directory); returns the path."""
    return grid_lib.save_png(sheet.grid, path)


def _row_labels(sampler, labels):
    if not sampler.conditional:
        return sampler.check_labels(labels)  # None; refuses labels
    if labels is None:
        return np.arange(sampler.num_classes, dtype=np.int32)
    return sampler.check_labels(np.atleast_1d(labels))


def _sheet(sampler, z, labels, padding):
    rows, cols = z.shape[:2]
    flat_z = np.ascontiguousarray(z.reshape(rows * cols, -1))
    flat_labels = None if labels is None else np.repeat(labels, cols)
    images = sampler.images(flat_z, flat_labels)
    grid = grid_lib.make_grid(images, rows, padding=padding)
    return Sheet(grid=grid, images=images.reshape((rows, cols) + images.shape[1:]),
                 z=np.array(z), labels=labels)

"""What is evaluated: a generator as `call(z, labels) -> images`, with its noise.

A `GeneratorSource` is built from a Keras generator (`from_keras`), from the latest (or
a given) checkpoint of a run directory (`from_run_dir`), or from an exported SavedModel
through its `serving_default` signature (`from_saved_model`). `generate_fn` feeds it
`sagan_tf.noise.latents(seed, N, z_dim)` of the `EVALUATION` stream, image i getting
row i whatever the batch size: the z that the export's `generate(seed=seed)` gives its
i-th image, so `sagan-eval --seed=s` scores the images `generate` returns for seed s
and the same labels. An unconditional generator (`z -> images`, or an export whose
`serving_default` takes z alone) is called the same way, its `call` ignoring the
labels; its `conditional` is False and `num_classes` None.
"""

import dataclasses

import numpy as np
import tensorflow as tf
from absl import logging

from sagan_tf import grid, noise
from sagan_tf.checkpoints import checkpoint_step, load_generator
from sagan_tf.export_base import resolve_saved_model


class EvalError(ValueError):
    """A problem with the inputs of an evaluation that the user must fix."""


@dataclasses.dataclass
class GeneratorSource:
    """A generator to evaluate.

    Attributes:
        call: `call(z float32 [B, z_dim], labels int32 [B]) -> float32 images
            [B, H, W, 3]` in [-1, 1] (an unconditional generator ignores the labels).
        z_dim, resolution: the size of z and of the images.
        num_classes: the generator's classes (None if unknown or unconditional).
        conditional: False for an unconditional generator.
        config: the run's `TrainConfig` (run directories only).
        checkpoint, step: the checkpoint prefix and the G steps stored in it.
        saved_model: the SavedModel directory (exports only).
    """

    call: object
    z_dim: int
    resolution: int
    num_classes: int | None = None
    config: object = None
    checkpoint: str | None = None
    step: int | None = None
    saved_model: str | None = None
    module: object = None  # keeps a loaded SavedModel's variables alive
    conditional: bool = True


def keras_generator_call(generator):
    """`call(z, labels) -> images` for a Keras generator `[z, labels] -> images`, or
    `z -> images` (unconditional: the labels are ignored)."""
    z_dim = int(generator.inputs[0].shape[-1])
    conditional = len(generator.inputs) > 1

    @tf.function(input_signature=[tf.TensorSpec([None, z_dim], tf.float32),
                                  tf.TensorSpec([None], tf.int32)])
    def call(z, labels):
        inputs = [z, labels] if conditional else z
        return tf.cast(generator(inputs, training=False), tf.float32)

    return call


def from_keras(generator, num_classes=None):
    conditional = len(generator.inputs) > 1
    return GeneratorSource(call=keras_generator_call(generator),
                           z_dim=int(generator.inputs[0].shape[-1]),
                           resolution=int(generator.outputs[0].shape[1]),
                           num_classes=num_classes if conditional else None,
                           conditional=conditional)


def from_run_dir(model_dir, use_ema=True, checkpoint=None, standing_stats=0):
    """The generator of a training run (its EMA generator when it kept one), with
    standing statistics over `standing_stats` passes if > 0 (`sagan_tf.checkpoints.load_generator`)."""
    generator, config, checkpoint = load_generator(model_dir, use_ema, checkpoint,
                                                                     standing_stats)
    source = from_keras(generator, config.num_classes)
    return dataclasses.replace(source, config=config, checkpoint=checkpoint,
                               step=checkpoint_step(checkpoint))


def from_saved_model(path, num_classes=None):
    """An export's `serving_default` signature (a version directory or an export base,
    whose highest version is taken). `z_dim` comes from the signature, else the
    SavedModel's `latent_dim` variable; `num_classes` from the argument, else its
    `num_classes` variable."""
    path = resolve_saved_model(path)
    logging.info("Evaluating the SavedModel %s", path)
    loaded = tf.saved_model.load(path)
    if "serving_default" not in loaded.signatures:
        raise EvalError(f"The SavedModel at {path} has no serving_default signature; it "
                        f"has {sorted(loaded.signatures)}.")
    signature = loaded.signatures["serving_default"]
    inputs = signature.structured_input_signature[1]
    if set(inputs) not in ({"z", "labels"}, {"z"}):
        raise EvalError(f"serving_default of {path} must take `z` and `labels` (or `z` "
                        f"alone: unconditional). It takes {sorted(inputs)}.")
    conditional = "labels" in inputs
    z_dim = inputs["z"].shape[-1]
    if z_dim is None and hasattr(loaded, "latent_dim"):
        z_dim = int(loaded.latent_dim.numpy())
    if z_dim is None:
        raise EvalError(f"The size of z of the SavedModel at {path} is neither in its "
                        "serving_default signature nor in a `latent_dim` variable.")
    if not conditional:
        num_classes = None
    elif num_classes is None and hasattr(loaded, "num_classes"):
        num_classes = int(loaded.num_classes.numpy())

    def call(z, labels):
        if not conditional:
            return signature(z=z)["images_float"]
        return signature(z=z, labels=labels)["images_float"]

    output = signature.structured_outputs.get("images_float")
    resolution = None if output is None else output.shape[1]
    if resolution is None:  # Not static in the signature: probe one image.
        resolution = int(call(tf.zeros([1, int(z_dim)]), tf.zeros([1], tf.int32)).shape[1])
    return GeneratorSource(call=call, z_dim=int(z_dim), resolution=int(resolution),
                           num_classes=num_classes, saved_model=path, module=loaded,
                           conditional=conditional)


def generate_fn(source, num_samples, seed, quantize=True):
    """The `generate_fn(labels)` of `evaluate`: each call takes the next `len(labels)`
    rows of `noise.latents(seed, num_samples, z_dim)` (the EVALUATION stream).

    With `quantize` (the default) the images are returned as uint8, `grid.to_uint8`
    (round to nearest, clipped, as the export's `images` and a PNG of them), so that
    the classifier converts them exactly as it converts real images decoded from
    files (`uint8 / 127.5 - 1`), as StyleGAN and clean-fid do; False keeps the
    generator's float32 images in [-1, 1]."""
    z = noise.latents(seed, num_samples, source.z_dim, stream=noise.EVALUATION).numpy()
    offset = 0

    def generate(labels):
        nonlocal offset
        labels = np.asarray(labels, np.int32)
        if offset + len(labels) > len(z):
            raise ValueError(f"`generate_fn` was asked for more than num_samples="
                             f"{len(z)} images.")
        batch = z[offset:offset + len(labels)]
        offset += len(labels)
        images = np.asarray(source.call(tf.constant(batch), tf.constant(labels)), np.float32)
        return grid.to_uint8(images) if quantize else images

    return generate

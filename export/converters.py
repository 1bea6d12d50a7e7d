"""The export formats of `sagan-export --format`: the registry and the ONNX and LiteRT
(TFLite) converters.

Every format takes the inputs of the SavedModel's `serving_default` signature, z
float32 [N, latent_dim] and labels int32 [N] (no labels for an unconditional
model), and returns its outputs, images uint8 [N, H, W, 3] and images_float float32
[N, H, W, 3] in [-1, 1] (`export.module.images_outputs`). N is free (-1) in every
format.

What the ONNX and LiteRT files hold is the inference graph, z and labels -> images,
and not the rest of the SavedModel, because the converters cannot carry it (found
with tf2onnx 1.17.0, onnxruntime 1.32.0 and TensorFlow 2.21's converter):

- The `generate` signature (z drawn in the graph from a seed,
  `sagan_tf.noise.latents`) is left out. tf2onnx has no ONNX form of
  `StatelessRandomGetKeyCounter`, `StatelessRandomUniformV2`, `Erfc` and `Ndtri` (it
  leaves them in the graph as TF ops, and onnxruntime refuses the model: "No Op
  registered for Erfc"); ONNX's own RandomUniform is not TF's Philox stream, so it
  could not give a seed's z anyway. The LiteRT converter has no builtin for those four
  either, nor for any float64 arithmetic (`AddV2`, `Mul`, `Greater`, `SelectV2` on
  f64: ERROR_NEEDS_FLEX_OPS). Compute z with `sagan_tf.noise.latents(seed, N,
  latent_dim)` and pass it in.
- `serving_default`'s input checks are left out. The LiteRT converter has no builtin
  for `EnsureShape` (ERROR_NEEDS_FLEX_OPS), and tf2onnx drops `Assert` nodes, so the
  checks (labels in range, the batch limit, z's width) could not survive; the width
  is fixed by the input shape instead, and a label outside [0, num_classes), negative
  ones included, fails in the runtime's Gather with the runtime's message
  (onnxruntime: "indices element out of data bounds"; LiteRT: "gather index out of
  bounds"). There is no batch limit: the caller batches to a size its memory allows.

Both converted graphs use builtin ops only (no Flex/Select TF ops, no custom ops), so
they run with plain onnxruntime and the plain LiteRT interpreter (`ai-edge-litert`).
No quantization: weights and activations stay float32.
"""

import dataclasses
from typing import Callable, Optional

import tensorflow as tf

from export.module import images_outputs

SAVED_MODEL = "saved_model"
ONNX = "onnx"
TFLITE = "tflite"
DEFAULT_FORMAT = SAVED_MODEL
#: ONNX opset of the ONNX export: supported by onnxruntime >= 1.13 and tf2onnx >= 1.12.
ONNX_OPSET = 17


@dataclasses.dataclass(frozen=True)
class ExportFormat:
    """One format of `sagan-export --format`.

    Attributes:
        name: the flag value.
        file_name: the model file in the version directory; None for the SavedModel
            (a directory of files, written by `export.exporter.export_generator`).
        convert: `generator -> bytes` of the file; None for the SavedModel.
        runtime: what runs it.
    """

    name: str
    file_name: Optional[str]
    convert: Optional[Callable]
    runtime: str


def inference_function(generator):
    """The tf.function (z [, labels]) -> {images, images_float} that the converters
    take: `serving_default` without its input checks (see the module docstring)."""
    latent_dim = int(generator.inputs[0].shape[-1])
    z_spec = tf.TensorSpec([None, latent_dim], tf.float32, name="z")
    if len(generator.inputs) == 1:
        @tf.function(input_signature=[z_spec])
        def unconditional(z):
            return images_outputs(generator, z, None)
        return unconditional

    @tf.function(input_signature=[z_spec, tf.TensorSpec([None], tf.int32, name="labels")])
    def conditional(z, labels):
        # A negative label would otherwise pick a class from the end of the class
        # tables (the generator's gathers wrap negative indices, as NumPy's take):
        # map it far out of range so that the runtime's Gather refuses it.
        labels = tf.where(labels < 0, tf.int32.max, labels)
        return images_outputs(generator, z, labels)
    return conditional


def to_onnx(generator):
    """The generator's inference graph as a serialized ONNX model (tf2onnx)."""
    import tf2onnx  # pylint: disable=import-outside-toplevel  # slow; only for this format

    function = inference_function(generator)
    model, _ = tf2onnx.convert.from_function(function, input_signature=function.input_signature,
                                             opset=ONNX_OPSET)
    return model.SerializeToString()


def to_tflite(generator):
    """The generator's inference graph as a LiteRT (TFLite) flatbuffer, float32, with one
    signature, `serving_default` (TensorFlow's own converter)."""
    concrete = inference_function(generator).get_concrete_function()
    # The converter saves the function with `trackable_obj` and reads the variables back
    # from that SavedModel. With the Keras 3 model there, the variables it saves are
    # not the tf.Variables the graph reads (as in `export.module`), and the file's 70
    # READ_VARIABLE ops fail at run time ("variable != nullptr"); a module tracking the
    # captured tf.Variables themselves gets them frozen into constants.
    holder = tf.Module()
    holder.captured = list(concrete.variables)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([concrete], holder)
    return converter.convert()


FORMATS = {f.name: f for f in (
    ExportFormat(SAVED_MODEL, None, None, "TensorFlow, TF Serving"),
    ExportFormat(ONNX, "generator.onnx", to_onnx, "onnxruntime (or any ONNX runtime)"),
    ExportFormat(TFLITE, "generator.tflite", to_tflite,
                 "the LiteRT interpreter (ai-edge-litert, tf.lite.Interpreter)"),
)}


def get_format(name):
    """The `ExportFormat` called `name`; raises ValueError naming the formats."""
    if name not in FORMATS:
        raise ValueError(f"`format` must be one of {sorted(FORMATS)}. Received: format={name!r}")
    return FORMATS[name]

"""A stand-in for TF Serving's Predict, run by the export tests in a fresh process.

    python standin_server.py SAVED_MODEL_DIR

The process cannot import `sagan_tf`, `training` or `export` (an import hook refuses
them), so whatever runs here runs from the SavedModel alone.

Two ways to run a `PredictRequest`:

- "session" does what TF Serving's `RunPredict` does (tensorflow_serving/servables/
  tensorflow/predict_util.cc and tensorflow/cc/saved_model/util.cc): load the
  SavedModel's "serve" MetaGraph into a TF1 Session (as `SavedModelBundle` does),
  look up the signature (default `serving_default`), refuse extra inputs, fill
  missing ones from `SignatureDef.defaults` or fail, check each tensor's dtype
  against the signature, feed the signature's tensor names, fetch the outputs
  (all, or `output_filter`) and answer a `PredictResponse`.
- "load" calls `tf.saved_model.load(dir).signatures[name](**inputs)` as a Python
  user would.

Protocol on stdin/stdout: frames of an 8-byte big-endian length and a payload.
Request: a JSON frame {"mode": "session" | "load" | "modules"} then, except for
"modules", a serialized PredictRequest frame. Reply: a JSON frame {"ok": bool,
"error": str} then, when ok, a serialized PredictResponse frame ("modules" replies
{"ok": true, "modules": [...]} with the names of loaded modules of the project).
"""

import importlib.abc
import json
import os
import struct
import sys

_PROJECT = ("sagan_tf", "training", "export")


class _RefuseProject(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] in _PROJECT:
            raise ImportError(f"standin_server must not import {fullname}")
        return None


sys.meta_path.insert(0, _RefuseProject())
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tensorflow_serving.apis import predict_pb2  # noqa: E402


def _read_frame(stream):
    header = stream.read(8)
    if len(header) < 8:
        return None
    (size,) = struct.unpack(">Q", header)
    return stream.read(size)


def _write_frame(stream, payload):
    stream.write(struct.pack(">Q", len(payload)))
    stream.write(payload)
    stream.flush()


class SessionServer:
    """TF Serving's Predict path on a TF1 Session."""

    def __init__(self, path):
        self.graph = tf.Graph()
        self.session = tf.compat.v1.Session(graph=self.graph)
        with self.graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(self.session, ["serve"], path)
        self.signatures = meta_graph.signature_def

    def predict(self, request):
        name = request.model_spec.signature_name or "serving_default"
        if name not in self.signatures:
            raise ValueError(f'Serving signature key "{name}" not found.')
        signature = self.signatures[name]
        if signature.method_name != "tensorflow/serving/predict":
            raise ValueError(f"Expected a predict signature. Was: {signature.method_name}")
        extra = set(request.inputs) - set(signature.inputs)
        if extra:
            raise ValueError(f"input size does not match signature. Sent extra: {sorted(extra)}")
        feeds = {}
        for alias, info in signature.inputs.items():
            if alias in request.inputs:
                proto = request.inputs[alias]
            elif alias in signature.defaults:
                proto = signature.defaults[alias]
            else:
                raise ValueError(f"Signature input alias: {alias} not found in request and "
                                 "no default value provided")
            if proto.dtype != info.dtype:
                raise ValueError(f"Expects arg {alias} to be "
                                 f"{tf.dtypes.as_dtype(info.dtype).name} but "
                                 f"{tf.dtypes.as_dtype(proto.dtype).name} is provided")
            feeds[info.name] = tf.make_ndarray(proto)
        aliases = list(request.output_filter) or sorted(signature.outputs)
        for alias in aliases:
            if alias not in signature.outputs:
                raise ValueError(f"output tensor alias not found in signature: {alias}")
        values = self.session.run([signature.outputs[a].name for a in aliases], feeds)
        return _response(name, dict(zip(aliases, values)))


class LoadServer:
    """`tf.saved_model.load` and a call of the signature's concrete function."""

    def __init__(self, path):
        self.loaded = tf.saved_model.load(path)

    def predict(self, request):
        name = request.model_spec.signature_name or "serving_default"
        inputs = {k: tf.constant(tf.make_ndarray(v)) for k, v in request.inputs.items()}
        outputs = self.loaded.signatures[name](**inputs)
        aliases = list(request.output_filter) or sorted(outputs)
        return _response(name, {a: outputs[a].numpy() for a in aliases})


def _response(signature_name, outputs):
    response = predict_pb2.PredictResponse()
    response.model_spec.signature_name = signature_name
    for alias, value in outputs.items():
        response.outputs[alias].CopyFrom(tf.make_tensor_proto(value))
    return response


def main():
    path = sys.argv[1]
    # Replies go to the real stdout; everything else written to fd 1 (TF, prints)
    # goes to stderr so it cannot corrupt the frames.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    stdin = sys.stdin.buffer
    servers = {"session": SessionServer(path), "load": LoadServer(path)}
    while True:
        header = _read_frame(stdin)
        if header is None:
            return
        command = json.loads(header)
        if command["mode"] == "modules":
            loaded = sorted(m for m in sys.modules if m.split(".")[0] in _PROJECT)
            _write_frame(out, json.dumps({"ok": True, "modules": loaded}).encode())
            continue
        request = predict_pb2.PredictRequest.FromString(_read_frame(stdin))
        try:
            response = servers[command["mode"]].predict(request)
        except Exception as e:  # pylint: disable=broad-exception-caught
            message = getattr(e, "message", None) or str(e)
            _write_frame(out, json.dumps({"ok": False, "error": message,
                                          "type": type(e).__name__}).encode())
            continue
        _write_frame(out, json.dumps({"ok": True}).encode())
        _write_frame(out, response.SerializeToString())


if __name__ == "__main__":
    main()

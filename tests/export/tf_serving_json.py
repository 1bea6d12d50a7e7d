"""TF Serving's REST predict parser, in Python, for the tests: JSON body -> PredictRequest.

A port of `FillPredictRequestFromJson` (tensorflow_serving/util/json_tensor.cc) for the
dtypes the export uses: the body names a signature (default `serving_default`) and
holds either "instances" (row format: one object per example with every input,
stacked along a new first axis) or "inputs" (columnar: an object with every named
input). Each value becomes a tensor of the signature's dtype: DT_FLOAT takes any
JSON number (cast to float32, as rapidjson's GetFloat), DT_INT32 / DT_INT64 only
JSON integers in range; nested lists must be rectangular.
"""

import json

import numpy as np
import tensorflow as tf
from tensorflow.core.framework import types_pb2
from tensorflow_serving.apis import predict_pb2


class JsonError(ValueError):
    """The body would be rejected by TF Serving (HTTP 400)."""


_INT_RANGES = {types_pb2.DT_INT32: (-2 ** 31, 2 ** 31 - 1),
               types_pb2.DT_INT64: (-2 ** 63, 2 ** 63 - 1)}


def _leaf(value, dtype):
    if dtype == types_pb2.DT_FLOAT:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise JsonError(f"JSON Value: {value!r} is not of expected type: float")
        return np.float32(value)
    if dtype in _INT_RANGES:
        lo, hi = _INT_RANGES[dtype]
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise JsonError(f"JSON Value: {value!r} is not of expected type: "
                            f"{tf.dtypes.as_dtype(dtype).name}")
        return value
    raise JsonError(f"dtype {dtype} is not handled by this port")


def _tensor(value, dtype):
    """A JSON value (scalar or rectangular nested lists) -> np array of `dtype`."""
    def shape_of(v):
        return (len(v),) + (shape_of(v[0]) if v else ()) if isinstance(v, list) else ()

    shape = shape_of(value)

    def flatten(v, level):
        if not isinstance(v, list):
            if level != len(shape):
                raise JsonError(f"JSON Value: {v!r} found at incorrect level {level + 1}")
            return [_leaf(v, dtype)]
        if level >= len(shape) or len(v) != shape[level]:
            raise JsonError(f"Encountered list at unexpected size/level {level}")
        return [x for item in v for x in flatten(item, level + 1)]

    np_dtype = tf.dtypes.as_dtype(dtype).as_numpy_dtype
    return np.array(flatten(value, 0), np_dtype).reshape(shape)


def predict_request_from_json(body, signature_defs):
    """Parses a REST predict body (str or dict) the way TF Serving does.

    Args:
        body: the JSON text (or the dict it encodes).
        signature_defs: the SavedModel's {name: SignatureDef}.

    Returns:
        A `PredictRequest`.

    Raises:
        JsonError: where TF Serving answers HTTP 400.
    """
    doc = json.loads(body) if isinstance(body, str) else json.loads(json.dumps(body))
    if not isinstance(doc, dict):
        raise JsonError("Is not object")
    request = predict_pb2.PredictRequest()
    name = doc.get("signature_name", "serving_default")
    if not isinstance(name, str):
        raise JsonError("'signature_name' key must be a string value.")
    if "signature_name" in doc:
        request.model_spec.signature_name = name
    inputs = signature_defs[name].inputs
    if ("instances" in doc) == ("inputs" in doc):
        raise JsonError("expecting exactly one of 'inputs' or 'instances'")
    if "instances" in doc:
        items = doc["instances"]
        if not isinstance(items, list) or not items:
            raise JsonError("'instances' must be a non-empty list")
        if not isinstance(items[0], dict):
            if len(inputs) > 1:
                raise JsonError("instances is a plain list, but expecting list of objects "
                                "as multiple input tensors required")
            items = [{next(iter(inputs)): item} for item in items]
        columns = {alias: [] for alias in inputs}
        for i, item in enumerate(items):
            if not isinstance(item, dict) or set(item) != set(inputs):
                raise JsonError(f"Failed to process element: {i} of 'instances' list. "
                                f"keys must be equal to: {','.join(sorted(inputs))}")
            for alias, value in item.items():
                columns[alias].append(_tensor(value, inputs[alias].dtype))
        for alias, values in columns.items():
            if len({v.shape for v in values}) != 1:
                raise JsonError(f"Expecting one shape for every {alias} in 'instances'")
            request.inputs[alias].CopyFrom(tf.make_tensor_proto(np.stack(values)))
    else:
        value = doc["inputs"]
        if not isinstance(value, dict):
            if len(inputs) > 1:
                raise JsonError("inputs is a plain value/list, but expecting an object as "
                                "multiple input tensors required")
            value = {next(iter(inputs)): value}
        for alias, info in inputs.items():
            if alias not in value:
                raise JsonError(f"Missing named input: {alias} in 'inputs' object.")
            request.inputs[alias].CopyFrom(tf.make_tensor_proto(_tensor(value[alias],
                                                                        info.dtype)))
    return request

"""A small client for the exported generator under TF Serving (gRPC and REST).

Request builders (pure, testable offline) and thin senders:

    z = sagan_tf.noise.latents(seed=0, num=4, latent_dim=128).numpy()
    request = predict_request(z, [0, 1, 2, 3])               # serving_default
    request = generate_request([0, 1, 2, 3], seed=7)          # generate, no truncation
    images = response_images(predict_grpc(request, "localhost:8500"))

    body = generate_json([0, 1, 2, 3], seed=7, truncation=0.5)
    images = json_response_images(predict_rest(body, rest_url("localhost:8501")))

For an unconditional model the labels are None: `predict_request(z)`,
`generate_request(None, seed=7, num_images=4)`, `generate_json(None, seed=7,
num_images=4)`.

REST notes (TF Serving's JSON parser): `serving_default` accepts the row
("instances") and the columnar ("inputs") format; `generate` only "inputs", since its
`seed` and `truncation` are scalars and every "instances" item must hold every input.
The JSON parser also asks for every named input, so REST bodies always carry
`truncation` (0.0 = none); over gRPC it can be left out and the SignatureDef's
default (0.0) applies. z values are written as the exact float32 numbers, which
TF Serving reads back without loss.
"""

import json
import urllib.error
import urllib.request

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

DEFAULT_MODEL_NAME = "sagan"
SERVING_DEFAULT = "serving_default"
GENERATE = "generate"
REST_FORMATS = ("instances", "inputs")


def _z_and_labels(z, labels):
    z = np.asarray(z, np.float32)
    if z.ndim != 2:
        raise ValueError(f"`z` must be a [N, latent_dim] array. Received: shape={z.shape}")
    if labels is None:  # an unconditional model
        return z, None
    labels = _labels(np.asarray(labels))
    if labels.shape[0] != z.shape[0]:
        raise ValueError("`z` and `labels` must have the same length N. Received: "
                         f"{z.shape[0]} rows of z and {labels.shape[0]} labels")
    return z, labels


def _labels(labels):
    labels = np.asarray(labels)
    if labels.ndim != 1 or (labels.size and not np.issubdtype(labels.dtype, np.integer)):
        raise ValueError("`labels` must be a 1D sequence of integer class ids. "
                         f"Received: {labels!r}")
    return labels.astype(np.int32)


def _model_spec(request, model_name, signature_name, version):
    request.model_spec.name = model_name
    request.model_spec.signature_name = signature_name
    if version is not None:
        request.model_spec.version.value = int(version)


def predict_request(z, labels=None, model_name=DEFAULT_MODEL_NAME, version=None,
                    output_filter=()):
    """The gRPC `PredictRequest` of `serving_default` for (z, labels).

    Args:
        z: float [N, latent_dim].
        labels: int [N] class ids; None for an unconditional model (z alone).
        model_name: the model's name in the server's config.
        version: a version number to pin, or None for the server's choice (latest).
        output_filter: output names to return (e.g. `["images"]`); empty = all.

    Returns:
        A `tensorflow_serving.apis.predict_pb2.PredictRequest`.
    """
    z, labels = _z_and_labels(z, labels)
    request = predict_pb2.PredictRequest()
    _model_spec(request, model_name, SERVING_DEFAULT, version)
    request.inputs["z"].CopyFrom(tf.make_tensor_proto(z))
    if labels is not None:
        request.inputs["labels"].CopyFrom(tf.make_tensor_proto(labels))
    request.output_filter.extend(output_filter)
    return request


def generate_request(labels, seed, truncation=None, model_name=DEFAULT_MODEL_NAME,
                     version=None, output_filter=(), num_images=None):
    """The gRPC `PredictRequest` of `generate` for (labels, seed[, truncation]).

    Args:
        labels: int [N] class ids; None for an unconditional model.
        seed: int, the noise seed (int64).
        truncation: float, > 0 truncates z to [-truncation, truncation], <= 0 none;
            None leaves the input out (the signature's default, 0.0, applies).
        model_name, version, output_filter: as `predict_request`.
        num_images: unconditional models only: N, the images to generate (None
            leaves the input out: the signature's default, 1, applies).

    Returns:
        A `tensorflow_serving.apis.predict_pb2.PredictRequest`.
    """
    _check_num_images(labels, num_images)
    request = predict_pb2.PredictRequest()
    _model_spec(request, model_name, GENERATE, version)
    if labels is not None:
        request.inputs["labels"].CopyFrom(tf.make_tensor_proto(_labels(labels)))
    elif num_images is not None:
        request.inputs["num_images"].CopyFrom(tf.make_tensor_proto(np.int32(num_images)))
    request.inputs["seed"].CopyFrom(tf.make_tensor_proto(np.int64(seed)))
    if truncation is not None:
        request.inputs["truncation"].CopyFrom(
            tf.make_tensor_proto(np.float32(truncation)))
    request.output_filter.extend(output_filter)
    return request


def predict_json(z, labels=None, request_format="instances"):
    """The REST body of `serving_default` for (z, labels), as a dict.

    Args:
        z: float [N, latent_dim].
        labels: int [N] class ids; None for an unconditional model (z alone).
        request_format: "instances" (row format: one {"z", "labels"} object per
            example; the response has "predictions") or "inputs" (columnar; the
            response has "outputs").

    Returns:
        A JSON-serializable dict (send it with `json.dumps`).
    """
    if request_format not in REST_FORMATS:
        raise ValueError(f"`request_format` must be one of {REST_FORMATS}. "
                         f"Received: request_format={request_format!r}")
    z, labels = _z_and_labels(z, labels)
    # float32 -> Python float (a double holding the float32 value exactly).
    z_rows = z.tolist()
    body = {"signature_name": SERVING_DEFAULT}
    if labels is None:
        body[request_format] = ([{"z": zi} for zi in z_rows] if request_format == "instances"
                                else {"z": z_rows})
        return body
    label_list = labels.tolist()
    if request_format == "instances":
        body["instances"] = [{"z": zi, "labels": li} for zi, li in zip(z_rows, label_list)]
    else:
        body["inputs"] = {"z": z_rows, "labels": label_list}
    return body


def generate_json(labels, seed, truncation=0.0, num_images=None):
    """The REST body of `generate` (columnar "inputs" format), as a dict.

    Args:
        labels: int [N] class ids; None for an unconditional model.
        seed: int, the noise seed.
        truncation: float, > 0 truncates, <= 0 (default) none. Always sent: TF
            Serving's JSON parser needs every named input.
        num_images: unconditional models only: N (default 1; always sent, as
            `truncation`).
    """
    _check_num_images(labels, num_images)
    inputs = ({"num_images": 1 if num_images is None else int(num_images)}
              if labels is None else {"labels": _labels(labels).tolist()})
    return {"signature_name": GENERATE,
            "inputs": {**inputs, "seed": int(seed),
                       "truncation": float(np.float32(truncation))}}


def _check_num_images(labels, num_images):
    if labels is not None and num_images is not None:
        raise ValueError("`num_images` is for unconditional models (labels=None); the "
                         f"labels give N. Received: num_images={num_images}")
    if num_images is not None and (isinstance(num_images, bool) or
                                   not isinstance(num_images, (int, np.integer))):
        raise ValueError(f"`num_images` must be an integer. Received: num_images={num_images!r}")


def rest_url(host="localhost:8501", model_name=DEFAULT_MODEL_NAME, version=None):
    """`http://HOST/v1/models/NAME[/versions/V]:predict`."""
    version_part = f"/versions/{int(version)}" if version is not None else ""
    return f"http://{host}/v1/models/{model_name}{version_part}:predict"


def response_images(response, key="images"):
    """An output of a gRPC `PredictResponse` as a NumPy array."""
    if key not in response.outputs:
        raise KeyError(f"No output {key!r} in the response. "
                       f"Outputs: {sorted(response.outputs)}")
    return tf.make_ndarray(response.outputs[key])


def json_response_images(body, key="images"):
    """An output of a REST response (dict) as a NumPy array (uint8 for "images")."""
    dtype = np.uint8 if key == "images" else np.float32
    if "error" in body:
        raise RuntimeError(f"TF Serving returned an error: {body['error']}")
    if "predictions" in body:  # row format: a list of {output: value} per example
        return np.asarray([p[key] for p in body["predictions"]], dtype)
    if "outputs" in body:  # columnar format: {output: batched value}
        return np.asarray(body["outputs"][key], dtype)
    raise ValueError("A TF Serving predict response has 'predictions' or 'outputs'. "
                     f"Received keys: {sorted(body)}")


def predict_grpc(request, target="localhost:8500", timeout=60.0):
    """Sends a `PredictRequest` over gRPC; returns the `PredictResponse`."""
    import grpc  # pylint: disable=import-outside-toplevel
    from tensorflow_serving.apis import (  # pylint: disable=import-outside-toplevel
        prediction_service_pb2_grpc)

    with grpc.insecure_channel(target) as channel:
        stub = prediction_service_pb2_grpc.PredictionServiceStub(channel)
        return stub.Predict(request, timeout)


def predict_rest(body, url, timeout=60.0):
    """POSTs a REST body (dict) to `url` (`rest_url(...)`); returns the JSON reply."""
    data = json.dumps(body).encode("utf-8")
    req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as reply:
            return json.loads(reply.read().decode("utf-8"))
    except urllib.error.HTTPError as e:  # TF Serving's reply is {"error": "..."}
        raise RuntimeError(f"TF Serving answered HTTP {e.code}: "
                           f"{e.read().decode('utf-8', 'replace')}") from e

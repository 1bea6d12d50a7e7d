"""export.client: requests decode to the intended inputs and run on the served model."""

import json

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from export import client
from standin_client import outputs
from noise_reference import documented_z
from tolerances import GENERATOR_ATOL
from tf_serving_json import JsonError, predict_request_from_json

Z = np.random.RandomState(5).randn(3, 128).astype(np.float32)
LABELS = [7, 0, 2]


def decoded(request):
    return {k: tf.make_ndarray(v) for k, v in request.inputs.items()}


def test_predict_request_carries_z_labels_and_model_spec():
    request = client.predict_request(Z, LABELS, model_name="faces", version=4,
                                     output_filter=["images"])
    inputs = decoded(request)
    assert inputs["z"].dtype == np.float32 and inputs["labels"].dtype == np.int32
    np.testing.assert_array_equal(inputs["z"], Z)
    np.testing.assert_array_equal(inputs["labels"], LABELS)
    spec = request.model_spec
    assert (spec.name, spec.signature_name, spec.version.value) == ("faces", "serving_default", 4)
    assert list(request.output_filter) == ["images"]
    assert not client.predict_request(Z, LABELS).model_spec.HasField("version")


def test_generate_request_types_and_optional_truncation():
    inputs = decoded(client.generate_request(LABELS, seed=2 ** 40, truncation=0.5))
    assert inputs["seed"].dtype == np.int64 and inputs["seed"].shape == ()
    assert int(inputs["seed"]) == 2 ** 40
    assert inputs["truncation"].dtype == np.float32 and inputs["truncation"].shape == ()
    assert float(inputs["truncation"]) == 0.5
    np.testing.assert_array_equal(inputs["labels"], LABELS)
    assert set(decoded(client.generate_request(LABELS, seed=1))) == {"labels", "seed"}


def test_grpc_requests_run_on_the_served_model(server, generators):
    out = outputs(server.predict(client.predict_request(Z, LABELS)))
    expected = generators[0]([Z, np.array(LABELS, np.int32)], training=False).numpy()
    np.testing.assert_allclose(out["images_float"], expected, rtol=0, atol=GENERATOR_ATOL)
    for truncation in (None, 0.7):
        out = outputs(server.predict(client.generate_request(LABELS, 99, truncation)))
        z = documented_z(99, 3, 128, truncation or 0.0)
        expected = generators[0]([z, np.array(LABELS, np.int32)], training=False).numpy()
        np.testing.assert_allclose(out["images_float"], expected, rtol=0, atol=GENERATOR_ATOL)


@pytest.mark.parametrize("request_format", ["instances", "inputs"])
def test_rest_predict_body_decodes_to_the_exact_inputs(request_format, signature_defs):
    body = json.dumps(client.predict_json(Z, LABELS, request_format))
    inputs = decoded(predict_request_from_json(body, signature_defs))
    np.testing.assert_array_equal(inputs["z"], Z)  # float32 survives JSON exactly
    np.testing.assert_array_equal(inputs["labels"], LABELS)
    assert inputs["labels"].dtype == np.int32


def test_rest_generate_body_decodes_and_needs_truncation(signature_defs):
    body = client.generate_json(LABELS, seed=-5, truncation=0.3)
    request = predict_request_from_json(json.dumps(body), signature_defs)
    assert request.model_spec.signature_name == "generate"
    inputs = decoded(request)
    assert int(inputs["seed"]) == -5 and inputs["seed"].dtype == np.int64
    assert float(inputs["truncation"]) == np.float32(0.3)
    # Why generate_json always sends truncation: the JSON parser wants every input.
    del body["inputs"]["truncation"]
    with pytest.raises(JsonError, match="Missing named input: truncation"):
        predict_request_from_json(json.dumps(body), signature_defs)


@pytest.mark.parametrize("body", [
    lambda: client.predict_json(Z, LABELS, "instances"),
    lambda: client.predict_json(Z, LABELS, "inputs"),
    lambda: client.generate_json(LABELS, seed=31, truncation=0.0),
])
def test_rest_bodies_run_on_the_served_model(body, signature_defs, server, generators):
    body = body()
    request = predict_request_from_json(json.dumps(body), signature_defs)
    out = outputs(server.predict(request))
    if body["signature_name"] == "generate":
        z = documented_z(31, 3, 128, 0.0)
    else:
        z = Z
    expected = generators[0]([z, np.array(LABELS, np.int32)], training=False).numpy()
    np.testing.assert_allclose(out["images_float"], expected, rtol=0, atol=GENERATOR_ATOL)


def test_json_responses_of_both_formats_give_the_images():
    images = np.random.RandomState(0).randint(0, 256, (2, 4, 4, 3)).astype(np.uint8)
    floats = images.astype(np.float32) / 127.5 - 1.0
    row = {"predictions": [{"images": im.tolist(), "images_float": fl.tolist()}
                           for im, fl in zip(images, floats)]}
    columnar = {"outputs": {"images": images.tolist(), "images_float": floats.tolist()}}
    for body in (json.loads(json.dumps(row)), json.loads(json.dumps(columnar))):
        got = client.json_response_images(body)
        assert got.dtype == np.uint8
        np.testing.assert_array_equal(got, images)
        np.testing.assert_array_equal(client.json_response_images(body, "images_float"), floats)
    with pytest.raises(RuntimeError, match="TF Serving returned an error: boom"):
        client.json_response_images({"error": "boom"})


def test_grpc_response_images():
    response = predict_pb2.PredictResponse()
    images = np.arange(24, dtype=np.uint8).reshape(1, 2, 4, 3)
    response.outputs["images"].CopyFrom(tf.make_tensor_proto(images))
    np.testing.assert_array_equal(client.response_images(response), images)
    with pytest.raises(KeyError, match="No output 'images_float'"):
        client.response_images(response, "images_float")


def test_rest_url():
    assert client.rest_url() == "http://localhost:8501/v1/models/sagan:predict"
    assert client.rest_url("host:9000", "faces", 3) == \
        "http://host:9000/v1/models/faces/versions/3:predict"


@pytest.mark.parametrize("call, message", [
    (lambda: client.predict_request(Z[0], [1]), r"`z` must be a \[N, latent_dim\] array"),
    (lambda: client.predict_request(Z, [1, 2]), "must have the same length N"),
    (lambda: client.generate_request([0.5], 1), "1D sequence of integer class ids"),
    (lambda: client.predict_json(Z, LABELS, "rows"), "`request_format` must be one of"),
])
def test_bad_client_inputs_fail_before_sending(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_unconditional_requests_carry_no_labels():
    inputs = decoded(client.predict_request(Z))
    assert set(inputs) == {"z"}
    np.testing.assert_array_equal(inputs["z"], Z)
    inputs = decoded(client.generate_request(None, seed=7, num_images=5))
    assert set(inputs) == {"seed", "num_images"}
    assert inputs["num_images"].dtype == np.int32 and int(inputs["num_images"]) == 5
    assert set(decoded(client.generate_request(None, seed=7))) == {"seed"}  # defaults
    body = client.generate_json(None, seed=7, num_images=3)
    assert body["inputs"] == {"num_images": 3, "seed": 7, "truncation": 0.0}
    assert client.predict_json(Z[:1])["instances"] == [{"z": Z[0].tolist()}]
    assert client.predict_json(Z[:1], request_format="inputs")["inputs"] == {
        "z": Z[:1].tolist()}
    with pytest.raises(ValueError, match="`num_images` is for unconditional models"):
        client.generate_request(LABELS, seed=1, num_images=3)


@pytest.fixture
def grpc_target(server):
    """A gRPC PredictionService on localhost that forwards to the serving stand-in."""
    import concurrent.futures  # pylint: disable=import-outside-toplevel

    import grpc  # pylint: disable=import-outside-toplevel
    from tensorflow_serving.apis import (  # pylint: disable=import-outside-toplevel
        prediction_service_pb2_grpc)

    class Forward(prediction_service_pb2_grpc.PredictionServiceServicer):
        def Predict(self, request, context):  # noqa: N802 (gRPC method name)
            return server.predict(request)

    grpc_server = grpc.server(concurrent.futures.ThreadPoolExecutor(max_workers=1))
    prediction_service_pb2_grpc.add_PredictionServiceServicer_to_server(Forward(), grpc_server)
    port = grpc_server.add_insecure_port("localhost:0")
    grpc_server.start()
    yield f"localhost:{port}"
    grpc_server.stop(None)


@pytest.fixture
def rest_host(server, signature_defs):
    """An HTTP server on localhost answering POST /v1/models/sagan:predict like TF
    Serving (the JSON parser port, the stand-in, "predictions" or "outputs" replies)."""
    import http.server  # pylint: disable=import-outside-toplevel
    import threading  # pylint: disable=import-outside-toplevel

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802
            assert self.path == "/v1/models/sagan:predict"
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            out = {k: v.tolist() for k, v in
                   outputs(server.predict(predict_request_from_json(body, signature_defs))).items()}
            if "instances" in body:
                n = len(body["instances"])
                reply = {"predictions": [{k: v[i] for k, v in out.items()} for i in range(n)]}
            else:
                reply = {"outputs": out}
            data = json.dumps(reply).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("localhost", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"localhost:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_predict_grpc_sends_over_the_wire(grpc_target, generators):
    response = client.predict_grpc(client.generate_request(LABELS, 5), grpc_target)
    z = documented_z(5, 3, 128, 0.0)
    expected = generators[0]([z, np.array(LABELS, np.int32)], training=False).numpy()
    np.testing.assert_allclose(client.response_images(response, "images_float"), expected,
                               rtol=0, atol=GENERATOR_ATOL)


@pytest.mark.parametrize("request_format", ["instances", "inputs"])
def test_predict_rest_sends_over_http(rest_host, generators, request_format):
    reply = client.predict_rest(client.predict_json(Z, LABELS, request_format),
                                client.rest_url(rest_host))
    images = client.json_response_images(reply)
    floats = client.json_response_images(reply, "images_float")
    expected = generators[0]([Z, np.array(LABELS, np.int32)], training=False).numpy()
    np.testing.assert_allclose(floats, expected, rtol=0, atol=GENERATOR_ATOL)
    np.testing.assert_array_equal(images, np.clip(np.round((floats + 1) * 127.5), 0, 255))

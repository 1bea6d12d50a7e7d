"""Every warmup record parses as TF Serving reads it and runs against its signature."""

import os
import struct

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from export import warmup
from standin_client import outputs
from noise_reference import documented_z
from tolerances import GENERATOR_ATOL


def read_records(saved_model_dir):
    """The payloads of the warmup TFRecord file, parsed by hand from its framing
    (uint64 length, uint32 CRC, data, uint32 CRC; CRCs not checked)."""
    path = os.path.join(saved_model_dir, "assets.extra", "tf_serving_warmup_requests")
    with open(path, "rb") as f:
        data = f.read()
    records, offset = [], 0
    while offset < len(data):
        (length,) = struct.unpack("<Q", data[offset:offset + 8])
        records.append(data[offset + 12:offset + 12 + length])
        offset += 12 + length + 4
    assert offset == len(data)
    return records


def test_warmup_file_has_both_signatures_for_each_batch_size(saved_model_dir):
    logs = [prediction_log_pb2.PredictionLog.FromString(r) for r in read_records(saved_model_dir)]
    assert all(log.WhichOneof("log_type") == "predict_log" for log in logs)
    seen = [(log.predict_log.request.model_spec.signature_name,
             sorted(log.predict_log.request.inputs),
             tf.make_ndarray(log.predict_log.request.inputs["labels"]).shape[0]) for log in logs]
    # The export fixture asked for --warmup_batch_sizes=1,3.
    for n in (1, 3):
        assert ("serving_default", ["labels", "z"], n) in seen
        assert ("generate", ["labels", "seed", "truncation"], n) in seen
        assert ("generate", ["labels", "seed"], n) in seen  # relies on the default
    assert len(logs) == 6
    assert warmup.read_warmup_file(saved_model_dir) == logs


def test_every_warmup_request_runs_and_gives_the_generator_images(saved_model_dir, server,
                                                                  generators):
    for record in read_records(saved_model_dir):
        request = prediction_log_pb2.PredictionLog.FromString(record).predict_log.request
        inputs = {k: tf.make_ndarray(v) for k, v in request.inputs.items()}
        labels = inputs["labels"]
        if request.model_spec.signature_name == "serving_default":
            z = inputs["z"]
        else:
            z = documented_z(int(inputs["seed"]), len(labels), 128,
                             float(inputs.get("truncation", 0.0)))
        out = outputs(server.predict(request))  # as TF Serving's warmup replays it
        expected = generators[0]([z, labels], training=False).numpy()
        np.testing.assert_allclose(out["images_float"], expected, rtol=0, atol=GENERATOR_ATOL)
        assert out["images"].dtype == np.uint8


@pytest.mark.parametrize("sizes", [(), (0,), (2, -1)])
def test_batch_sizes_must_be_positive(sizes):
    with pytest.raises(ValueError, match=r"`batch_sizes` must be positive integers"):
        warmup.warmup_requests(8, 3, sizes)

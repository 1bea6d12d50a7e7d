"""TF Serving warmup requests: `assets.extra/tf_serving_warmup_requests`.

TF Serving replays the requests of this file (a TFRecord of `PredictionLog` protos)
when it loads a version and before it serves it, so the first real request does
not pay for graph optimisation and kernel selection. The file holds, for each
warmup batch size N:

- `serving_default` with z = `sagan_tf.noise.latents(0, N, latent_dim)` and labels
  0, 1, ... (mod num_classes);
- `generate` with the same labels, seed 0 and truncation 1.0;
- `generate` with the same labels and seed but no `truncation` input, which also
  exercises the SignatureDef default that gRPC clients rely on.

An unconditional model's requests have no labels: `serving_default` with z alone,
`generate` with num_images N, seed 0 and truncation 1.0, and `generate` with seed 0
alone (both defaults).
"""

import os

import numpy as np
import tensorflow as tf
from tensorflow_serving.apis import prediction_log_pb2

from export import client
from sagan_tf import noise

ASSETS_EXTRA = "assets.extra"
WARMUP_FILE = "tf_serving_warmup_requests"


def warmup_requests(latent_dim, num_classes, batch_sizes=(1,),
                    model_name=client.DEFAULT_MODEL_NAME):
    """The warmup `PredictionLog`s (see the module docstring).

    Args:
        latent_dim: the generator's z size.
        num_classes: number of classes; None for an unconditional model.
        batch_sizes: the batch sizes to warm up. One covers the one-time setup;
            list the sizes clients send when per-shape work matters (e.g. cuDNN
            autotuning on GPU).
        model_name: the model's name written into the requests.

    Returns:
        A list of `prediction_log_pb2.PredictionLog`.
    """
    if not batch_sizes or any(not isinstance(n, int) or n < 1 for n in batch_sizes):
        raise ValueError("`batch_sizes` must be positive integers. "
                         f"Received: batch_sizes={list(batch_sizes)}")
    logs = []
    for n in batch_sizes:
        z = noise.latents(0, n, latent_dim).numpy()
        if num_classes is None:
            requests = [
                client.predict_request(z, model_name=model_name),
                client.generate_request(None, seed=0, truncation=1.0, num_images=n,
                                        model_name=model_name),
                client.generate_request(None, seed=0, model_name=model_name),
            ]
        else:
            labels = np.arange(n) % num_classes
            requests = [
                client.predict_request(z, labels, model_name=model_name),
                client.generate_request(labels, seed=0, truncation=1.0,
                                        model_name=model_name),
                client.generate_request(labels, seed=0, model_name=model_name),
            ]
        for request in requests:
            logs.append(prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request)))
    return logs


def write_warmup_file(saved_model_dir, logs):
    """Writes `logs` to `<saved_model_dir>/assets.extra/tf_serving_warmup_requests`."""
    directory = os.path.join(saved_model_dir, ASSETS_EXTRA)
    tf.io.gfile.makedirs(directory)
    path = os.path.join(directory, WARMUP_FILE)
    with tf.io.TFRecordWriter(path) as writer:
        for log in logs:
            writer.write(log.SerializeToString())
    return path


def read_warmup_file(saved_model_dir):
    """The `PredictionLog`s of a SavedModel's warmup file, in order."""
    path = os.path.join(saved_model_dir, ASSETS_EXTRA, WARMUP_FILE)
    logs = []
    for record in tf.data.TFRecordDataset(path).as_numpy_iterator():
        logs.append(prediction_log_pb2.PredictionLog.FromString(record))
    return logs

"""The tests' side of the serving stand-in (standin_server.py in its own process)."""

import json
import struct
import subprocess
import sys

import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from programs import subprocess_env


class ServingError(Exception):
    """An error the stand-in server answered with."""


class StandIn:
    """Starts standin_server.py on a SavedModel and sends it requests.

    Args:
        script: path of standin_server.py.
        saved_model: the SavedModel directory to serve.
        log_path: where the server's stderr goes.
    """

    def __init__(self, script, saved_model, log_path):
        self._log = open(log_path, "w")
        self.proc = subprocess.Popen(
            [sys.executable, script, saved_model],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log,
            env=subprocess_env())

    def _send(self, payload):
        self.proc.stdin.write(struct.pack(">Q", len(payload)) + payload)
        self.proc.stdin.flush()

    def _receive(self):
        header = self.proc.stdout.read(8)
        if len(header) < 8:
            self._log.flush()
            with open(self._log.name) as f:
                raise RuntimeError(f"serving stand-in died:\n{f.read()[-4000:]}")
        return self.proc.stdout.read(struct.unpack(">Q", header)[0])

    def predict(self, request, mode="session"):
        """Runs a PredictRequest; returns the PredictResponse or raises ServingError."""
        self._send(json.dumps({"mode": mode}).encode())
        self._send(request.SerializeToString())
        reply = json.loads(self._receive())
        if not reply["ok"]:
            raise ServingError(reply["error"])
        return predict_pb2.PredictResponse.FromString(self._receive())

    def project_modules(self):
        self._send(json.dumps({"mode": "modules"}).encode())
        return json.loads(self._receive())["modules"]

    def close(self):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
        self._log.close()


def outputs(response):
    """{name: ndarray} of a PredictResponse."""
    return {k: tf.make_ndarray(v) for k, v in response.outputs.items()}

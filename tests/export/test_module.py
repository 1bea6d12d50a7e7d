"""The SavedModel's signatures, run in a fresh process that cannot import the project.

`server` (standin_server.py) runs requests as TF Serving does ("session": TF1 Session
on the serve MetaGraph, signature defaults, dtype checks) or through
`tf.saved_model.load(...).signatures` ("load"). Expected images come from the Keras
EMA generator restored from the model_dir in this process.
"""

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

from standin_client import ServingError, outputs
from noise_reference import documented_z

MODES = ["session", "load"]
LATENT_DIM = 128


def request(signature, **inputs):
    """A PredictRequest built directly from NumPy values (not with export.client)."""
    req = predict_pb2.PredictRequest()
    req.model_spec.name = "sagan"
    req.model_spec.signature_name = signature
    for name, value in inputs.items():
        req.inputs[name].CopyFrom(tf.make_tensor_proto(value))
    return req


def uint8_of(images_float):
    """The documented uint8 rule, in float32 as the signature computes it (the .5 ties
    that round half to even depends on are float32 ties)."""
    x = np.asarray(images_float, np.float32)
    return np.clip(np.round((x + np.float32(1.0)) * np.float32(127.5)), 0, 255)


def check_images(out, expected_float):
    """uint8 `images` is the rounding of `images_float`, which matches the Keras output."""
    assert out["images"].dtype == np.uint8 and out["images_float"].dtype == np.float32
    assert out["images"].shape == expected_float.shape
    np.testing.assert_array_equal(out["images"], uint8_of(out["images_float"]))
    np.testing.assert_allclose(out["images_float"], expected_float, rtol=0, atol=2e-5)


@pytest.mark.parametrize("mode", MODES)
def test_serving_default_gives_the_ema_generator_images(server, generators, mode):
    ema, raw = generators
    rng = np.random.RandomState(0)
    z = rng.randn(5, LATENT_DIM).astype(np.float32)
    labels = np.array([0, 9, 3, 3, 7], np.int32)
    out = outputs(server.predict(request("serving_default", z=z, labels=labels), mode))
    expected = ema([z, labels], training=False).numpy()
    check_images(out, expected)
    # The export is the EMA generator, not the raw one (they differ in this run).
    assert np.abs(out["images_float"] - raw([z, labels], training=False).numpy()).max() > 0.1


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("truncation", [0.0, 0.6, -2.0])
def test_generate_gives_the_generator_on_the_documented_z(server, generators, mode, truncation):
    labels = np.array([4, 1, 8], np.int32)
    out = outputs(server.predict(request("generate", labels=labels, seed=np.int64(2024),
                                         truncation=np.float32(truncation)), mode))
    z = documented_z(2024, 3, LATENT_DIM, truncation)
    check_images(out, generators[0]([z, labels], training=False).numpy())


def test_generate_without_truncation_uses_the_signature_default(server, generators,
                                                                signature_defs):
    default = signature_defs["generate"].defaults["truncation"]
    assert tf.make_ndarray(default) == 0.0 and default.dtype == tf.float32.as_datatype_enum
    assert not signature_defs["serving_default"].defaults
    labels = np.array([2, 5], np.int32)
    # TF Serving fills the missing input from SignatureDef.defaults.
    out = outputs(server.predict(request("generate", labels=labels, seed=np.int64(-8))))
    z = documented_z(-8, 2, LATENT_DIM, 0.0)
    check_images(out, generators[0]([z, labels], training=False).numpy())


def test_generate_is_deterministic_and_per_example(server):
    def images(labels, seed):
        req = request("generate", labels=np.array(labels, np.int32), seed=np.int64(seed),
                      truncation=np.float32(0.0))
        return outputs(server.predict(req))["images"]

    first = images([1, 2, 3, 4], 77)
    np.testing.assert_array_equal(first, images([1, 2, 3, 4], 77))
    np.testing.assert_array_equal(first[:2], images([1, 2], 77))  # row i: (seed, i)
    assert not np.array_equal(first, images([1, 2, 3, 4], 78))


def test_output_filter_returns_only_the_requested_output(server):
    req = request("serving_default", z=np.zeros((1, LATENT_DIM), np.float32),
                  labels=np.array([0], np.int32))
    req.output_filter.append("images")
    assert set(server.predict(req).outputs) == {"images"}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad", [10, -1])
def test_label_out_of_range_names_the_valid_range(server, mode, bad):
    labels = np.array([0, bad], np.int32)
    z = np.zeros((2, LATENT_DIM), np.float32)
    message = r"`labels` must be class ids in \[0, 10\) \(the model has 10 classes\)"
    with pytest.raises(ServingError, match=message):
        server.predict(request("serving_default", z=z, labels=labels), mode)
    with pytest.raises(ServingError, match=message):
        server.predict(request("generate", labels=labels, seed=np.int64(0),
                               truncation=np.float32(0.0)), mode)


@pytest.mark.parametrize("mode", MODES)
def test_wrong_z_width_names_the_expected_width(server, mode):
    req = request("serving_default", z=np.zeros((2, 7), np.float32),
                  labels=np.array([0, 1], np.int32))
    with pytest.raises(ServingError, match=r"`z` must be \[N, 128\] \(latent_dim = 128\)"
                                           r".*\[x \(.*\) = \] \[7\]"):
        server.predict(req, mode)


def test_z_and_labels_of_different_lengths_fail_clearly(server):
    req = request("serving_default", z=np.zeros((3, LATENT_DIM), np.float32),
                  labels=np.array([0, 1], np.int32))
    with pytest.raises(ServingError, match="`z` and `labels` must have the same batch size"):
        server.predict(req)


def test_wrong_dtype_is_refused_like_tf_serving(server):
    req = request("serving_default", z=np.zeros((1, LATENT_DIM), np.float32),
                  labels=np.array([0], np.int64))
    with pytest.raises(ServingError, match="Expects arg labels to be int32 but int64"):
        server.predict(req)


def test_the_serving_process_never_imported_the_project(server):
    server.predict(request("generate", labels=np.array([0], np.int32), seed=np.int64(1),
                           truncation=np.float32(0.0)), "load")
    assert server.project_modules() == []


def test_loaded_module_carries_model_metadata(saved_model_dir):
    loaded = tf.saved_model.load(saved_model_dir)
    assert int(loaded.latent_dim.numpy()) == LATENT_DIM
    assert int(loaded.num_classes.numpy()) == 10
    assert int(loaded.resolution.numpy()) == 32
    assert [n.decode() for n in loaded.class_names.numpy()] == [f"digit_{i}" for i in range(10)]
    # The tf.function attribute keeps the Python default of `truncation`.
    a = loaded.generate(tf.constant([3], tf.int32), tf.constant(5, tf.int64))["images"]
    b = loaded.generate(tf.constant([3], tf.int32), tf.constant(5, tf.int64),
                        tf.constant(0.0))["images"]
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_an_empty_batch_fails_clearly(server):
    with pytest.raises(ServingError, match="`labels` must hold at least one class id"):
        server.predict(request("generate", labels=np.zeros([0], np.int32), seed=np.int64(1),
                               truncation=np.float32(0.0)))

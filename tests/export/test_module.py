"""The SavedModel's signatures, run in a fresh process that cannot import the project.

`server` (standin_server.py) runs requests as TF Serving does ("session": TF1 Session
on the serve MetaGraph, signature defaults, dtype checks) or through
`tf.saved_model.load(...).signatures` ("load"). Expected images come from the Keras
EMA generator restored from the model_dir in this process. The batch limit is also
checked in this process on a tiny `GeneratorModule` (limit 4), where running a full
batch is cheap.
"""

import re

import numpy as np
import pytest
import tensorflow as tf
from tensorflow_serving.apis import predict_pb2

import sagan_tf
from export.module import (DEFAULT_MAX_BATCH_SIZE, GENERATE, SERVING_DEFAULT,
                           GeneratorModule)
from standin_client import ServingError, outputs
from noise_reference import documented_z
from tolerances import GENERATOR_ATOL, assert_same_pixels_up_to_ties, uint8_of

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


def check_images(out, expected_float):
    """uint8 `images` is the rounding of `images_float`, which matches the Keras output."""
    assert out["images"].dtype == np.uint8 and out["images_float"].dtype == np.float32
    assert out["images"].shape == expected_float.shape
    np.testing.assert_array_equal(out["images"], uint8_of(out["images_float"]))
    np.testing.assert_allclose(out["images_float"], expected_float, rtol=0, atol=GENERATOR_ATOL)


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
        return outputs(server.predict(req))

    first = images([1, 2, 3, 4], 77)
    np.testing.assert_array_equal(first["images"], images([1, 2, 3, 4], 77)["images"])
    # Row i is (seed, i) whatever the batch; batch 2 is another computation than batch 4
    # (tests/tolerances.py): the same floats up to rounding, the same pixels up to ties.
    two = images([1, 2], 77)
    np.testing.assert_allclose(two["images_float"], first["images_float"][:2], rtol=0,
                               atol=GENERATOR_ATOL)
    assert_same_pixels_up_to_ties(two["images"], first["images_float"][:2])
    assert not np.array_equal(first["images"], images([1, 2, 3, 4], 78)["images"])


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


def _limit_message(n, limit):
    return re.escape(f"`labels` holds N = {n} examples; this export serves at most {limit} "
                     "per request (max_batch_size). Split the request, or re-export with "
                     "--max_batch_size.")


@pytest.mark.parametrize("mode", MODES)
def test_a_request_over_the_batch_limit_is_refused_by_the_export(server, mode):
    """The default limit (256) in the exported graph, run as TF Serving runs it; the
    check comes before the generator, so the refusal is cheap."""
    labels = np.zeros([257], np.int32)
    with pytest.raises(ServingError, match=_limit_message(257, 256)):
        server.predict(request("serving_default", z=np.zeros((257, LATENT_DIM), np.float32),
                               labels=labels), mode)
    with pytest.raises(ServingError, match=_limit_message(257, 256)):
        server.predict(request("generate", labels=labels, seed=np.int64(0),
                               truncation=np.float32(0.0)), mode)


def test_the_export_carries_its_batch_limit(saved_model_dir):
    loaded = tf.saved_model.load(saved_model_dir)
    assert loaded.max_batch_size.dtype == tf.int64
    assert int(loaded.max_batch_size.numpy()) == DEFAULT_MAX_BATCH_SIZE == 256


@pytest.fixture(scope="module")
def tiny_module():
    """A GeneratorModule of a tiny generator (3 classes, latent_dim 4), limit 4."""
    g = sagan_tf.build_generator("sagan32", 3, channels=[8, 8, 8], latent_dim=4)
    return GeneratorModule(g, 3, max_batch_size=4)


def _both_signatures(module, n):
    labels = tf.zeros([n], tf.int32)
    return [module.serving_default(tf.zeros([n, 4]), labels),
            module.generate(labels, tf.constant(1, tf.int64))]


def test_the_batch_limit_admits_max_and_refuses_max_plus_one_in_both_signatures(
        tiny_module, tmp_path):
    assert int(tiny_module.max_batch_size.numpy()) == 4
    assert tiny_module.max_batch_size.dtype == tf.int64
    for out in _both_signatures(tiny_module, 4):
        assert out["images"].shape == (4, 32, 32, 3)
    for signature in (SERVING_DEFAULT, GENERATE):
        fn = tiny_module.signatures()[signature]
        inputs = {"labels": tf.zeros([5], tf.int32)}
        inputs.update({"z": tf.zeros([5, 4])} if signature == SERVING_DEFAULT
                      else {"seed": tf.constant(1, tf.int64)})
        with pytest.raises(tf.errors.InvalidArgumentError, match=_limit_message(5, 4)):
            fn(**inputs)
    # The limit survives a save and load, as a variable and in the graphs.
    tf.saved_model.save(tiny_module, str(tmp_path), signatures=tiny_module.signatures())
    loaded = tf.saved_model.load(str(tmp_path))
    assert int(loaded.max_batch_size.numpy()) == 4
    sig = loaded.signatures[GENERATE]
    assert sig(labels=tf.zeros([4], tf.int32), seed=tf.constant(1, tf.int64),
               truncation=tf.constant(0.0))["images"].shape == (4, 32, 32, 3)
    with pytest.raises(tf.errors.InvalidArgumentError, match=_limit_message(5, 4)):
        sig(labels=tf.zeros([5], tf.int32), seed=tf.constant(1, tf.int64),
            truncation=tf.constant(0.0))


@pytest.mark.parametrize("kwargs,match", [
    (dict(max_batch_size=0), "`max_batch_size` must be a positive integer. "
                             "Received: max_batch_size=0"),
    (dict(max_batch_size=True), "Received: max_batch_size=True"),
    (dict(max_batch_size=8.0), "Received: max_batch_size=8.0"),
    (dict(num_classes=True), "`num_classes` must be a positive integer. "
                             "Received: num_classes=True"),
    (dict(num_classes=3.0), "Received: num_classes=3.0"),
])
def test_module_arguments_are_checked(kwargs, match):
    g = sagan_tf.build_generator("sagan32", 3, channels=[8, 8, 8], latent_dim=4)
    with pytest.raises(ValueError, match=re.escape(match)):
        GeneratorModule(g, **{"num_classes": 3, **kwargs})


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_a_non_finite_z_is_refused_in_the_graph(server, mode, bad):
    z = np.zeros((2, LATENT_DIM), np.float32)
    z[1, 5] = bad
    with pytest.raises(ServingError, match=r"`z` must hold finite numbers \(z ~ N\(0, I\)\)"
                                           r". Received a z with NaN or inf"):
        server.predict(request("serving_default", z=z, labels=np.array([0, 1], np.int32)),
                       mode)


def test_a_z_of_rank_1_is_refused_with_the_signatures_message(tiny_module):
    """TF Serving does not check a request's rank against the SignatureDef, so the
    graph does: a graph whose z has unknown rank (as the serving graph sees a request)
    refuses a rank-1 z by name, before anything slices its shape."""
    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32),
                                  tf.TensorSpec([None], tf.int32)])
    def any_rank(z, labels):
        return tiny_module._checked(z, labels)[0]

    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=r"`z` must be \[N, 4\] \(latent_dim = 4\), a batch of rows. "
                             r"Received a z of rank 1: wrap a single z in a list"):
        any_rank(tf.zeros([4]), tf.zeros([1], tf.int32))
    with pytest.raises(tf.errors.InvalidArgumentError, match="must hold finite numbers"):
        any_rank(tf.constant([[0.0, np.nan, 0.0, 0.0]]), tf.zeros([1], tf.int32))
    assert any_rank(tf.ones([2, 4]), tf.zeros([2], tf.int32)).shape == (2, 4)

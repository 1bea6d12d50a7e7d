import numpy as np
import pytest
import tensorflow as tf

from reference import projection_head
from sagan_tf.layers import ProjectionHead, SpectralDense, SpectralEmbedding

K, C = 5, 8


def _data(n=4, seed=0):
    rng = np.random.RandomState(seed)
    return (rng.randn(n, 3, 3, C).astype("float32"),
            rng.randint(0, K, n).astype("int32"))


def _head(x, labels, **kwargs):
    head = ProjectionHead(K, **kwargs)
    head([tf.constant(x), tf.constant(labels)], training=True)  # moves u
    head.psi.bias.assign([0.3])
    return head


def test_sublayers_are_spectral_dense_and_embedding():
    x, labels = _data()
    head = _head(x, labels)
    assert isinstance(head.psi, SpectralDense) and head.psi.units == 1
    assert isinstance(head.embed, SpectralEmbedding)
    assert tuple(head.embed.kernel.shape) == (K, C)
    assert tuple(head.psi.kernel.shape) == (C, 1)


def test_inference_output_equals_psi_plus_projection():
    x, labels = _data()
    head = _head(x, labels)
    y = head([tf.constant(x), tf.constant(labels)], training=False)
    assert y.dtype == tf.float32 and tuple(y.shape) == (4,)
    assert head.compute_output_shape([x.shape, labels.shape]) == (4,)
    np.testing.assert_allclose(y.numpy(), projection_head(head, x, labels), rtol=1e-4,
                               atol=1e-4)


def test_label_changes_only_the_projection_term():
    x, _ = _data(n=1)
    x = np.repeat(x, K, axis=0)
    labels = np.arange(K, dtype="int32")
    head = _head(x, labels)
    y = head([tf.constant(x), tf.constant(labels)]).numpy()
    assert np.ptp(y) > 1e-3
    np.testing.assert_allclose(y, projection_head(head, x, labels), rtol=1e-4, atol=1e-4)


def test_phi_applies_relu_before_sum_pooling():
    """Negative features contribute nothing: D is the same for x and relu(x)."""
    x, labels = _data()
    head = _head(x, labels)
    y1 = head([tf.constant(x), tf.constant(labels)]).numpy()
    y2 = head([tf.constant(np.maximum(x, 0)), tf.constant(labels)]).numpy()
    np.testing.assert_allclose(y1, y2, rtol=1e-6)
    y3 = head([tf.constant(np.abs(x)), tf.constant(labels)]).numpy()
    assert np.abs(y1 - y3).max() > 1e-3


@pytest.mark.parametrize("labels_shape", [(4, 1), (4, 2), ()])
def test_labels_of_wrong_rank(labels_shape):
    x, _ = _data()
    with pytest.raises(ValueError, match="1D int tensor"):
        ProjectionHead(K)([tf.constant(x), tf.zeros(labels_shape, "int32")])


def test_labels_of_wrong_rank_after_build():
    """A built head must not broadcast [2, 2] labels against phi [2, C]."""
    x, labels = _data(n=2)
    head = _head(x, labels)
    with pytest.raises(ValueError, match="1D int tensor"):
        head([tf.constant(x), tf.zeros((2, 2), "int32")])


@pytest.mark.parametrize("num_classes", [0, -1, 3.0])
def test_num_classes_must_be_positive_int(num_classes):
    with pytest.raises(ValueError, match="num_classes"):
        ProjectionHead(num_classes)


def test_config_round_trip_and_equal_outputs_after_copying_weights():
    x, labels = _data()
    head = _head(x, labels, power_iterations=2, name="proj")
    clone = ProjectionHead.from_config(head.get_config())
    assert clone.get_config() == head.get_config()
    clone.build([x.shape, labels.shape])
    clone.set_weights(head.get_weights())
    inputs = [tf.constant(x), tf.constant(labels)]
    np.testing.assert_allclose(clone(inputs).numpy(), head(inputs).numpy(), rtol=1e-6)
    assert clone.embed.power_iterations == 2


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
@pytest.mark.parametrize("bad", [K, -1])
def test_label_outside_the_classes_fails_naming_it_and_the_range(bad, mode):
    x, labels = _data()
    head = _head(x, labels)
    labels[1] = bad
    call = head if mode == "eager" else tf.function(lambda a: head(a, training=True))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"indices\[1\] = {bad} is not in \[0, {K}\)"):
        call([tf.constant(x), tf.constant(labels)])


def test_every_valid_label_gives_the_reference_logit_in_a_graph():
    x, _ = _data(n=K + 1)
    labels = np.array([K - 1] + list(range(K)), "int32")
    head = _head(x, labels)
    y = tf.function(lambda a, b: head([a, b]))(tf.constant(x), tf.constant(labels))
    np.testing.assert_allclose(y.numpy(), projection_head(head, x, labels), rtol=1e-4,
                               atol=1e-4)


@pytest.mark.parametrize("num_classes", [True, False, 10.0, "5"])
def test_num_classes_must_be_an_integer_not_a_bool_or_float(num_classes):
    with pytest.raises(ValueError, match=(
            rf"`num_classes` must be a positive integer. Received: num_classes={num_classes}$")):
        ProjectionHead(num_classes)


def test_unconditional_head_is_psi_of_phi():
    x, _ = _data()
    head = ProjectionHead(None)
    head(tf.constant(x), training=True)  # moves u
    head.psi.bias.assign([0.3])
    assert head.embed is None and head.get_config()["num_classes"] is None
    y = head(tf.constant(x), training=False)
    assert head.compute_output_shape(x.shape) == (4,)
    np.testing.assert_allclose(y.numpy(), projection_head(head, x, None), rtol=1e-4,
                               atol=1e-4)
    with pytest.raises(ValueError, match=r"called as `head\(features\)`"):
        head([tf.constant(x), tf.zeros((4,), "int32")])

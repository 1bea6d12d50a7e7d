import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import reference
from sagan_tf import build_discriminator
from sagan_tf.presets import PRESETS
from sagan_tf.layers import ProjectionHead, ResidualDownBlock, SelfAttention

K = 10
NARROW = dict(channels=[16, 16, 16, 16])  # sagan32 layout at a width the tests can afford


def _inputs(n=3, resolution=32, seed=0):
    rng = np.random.RandomState(seed)
    return [tf.constant(rng.uniform(-1, 1, (n, resolution, resolution, 3)).astype("float32")),
            tf.constant(rng.randint(0, K, n).astype("int32"))]


def _trained_state(model, inputs, seed=0):
    """Moves u off its initial value, sets attention gammas and the psi bias nonzero."""
    model(inputs, training=True)
    rng = np.random.RandomState(seed)
    for layer in model.layers:
        if isinstance(layer, SelfAttention):
            layer.gamma.assign(rng.uniform(0.5, 1.5))
    model.get_layer("projection").psi.bias.assign([0.2])


def _counts(model):
    return (sum(int(np.prod(w.shape)) for w in model.trainable_weights),
            sum(int(np.prod(w.shape)) for w in model.non_trainable_weights))


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_output_shapes_for_all_presets(preset):
    resolution = PRESETS[preset]["resolution"]
    d = build_discriminator(preset, K)
    assert tuple(d.input_shape[0]) == (None, resolution, resolution, 3)
    assert tuple(d.input_shape[1]) == (None,)
    assert tuple(d.output_shape) == (None,)
    y = d(_inputs(n=2, resolution=resolution), training=False)
    assert tuple(y.shape) == (2,) and y.dtype == tf.float32


@pytest.mark.parametrize("downsample,attention", [
    ([True, True, False, False], [16, 8]),
    ([True, False, True, False], [16]),
])
def test_output_equals_numpy_composition_of_the_architecture(downsample, attention):
    d = build_discriminator("sagan32", K, channels=[16, 16, 24, 24], downsample=downsample,
                            attention_resolutions=attention)
    inputs = _inputs()
    _trained_state(d, inputs)
    y = d(inputs, training=False).numpy()
    expected = reference.discriminator(d, inputs[0].numpy(), inputs[1].numpy(), downsample,
                                       attention)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    assert np.ptp(y) > 1e-2


def test_first_block_is_optimized_and_identity_shortcuts_where_shape_is_kept():
    d = build_discriminator("sagan32", K, **NARROW)
    blocks = [layer for layer in d.layers if isinstance(layer, ResidualDownBlock)]
    assert [b.optimized for b in blocks] == [True, False, False, False]
    assert [b.downsample for b in blocks] == [True, True, False, False]
    assert [b.conv_shortcut is not None for b in blocks] == [True, True, False, False]
    assert isinstance(d.get_layer("projection"), ProjectionHead)


def test_parameter_counts_sagan32():
    d = build_discriminator("sagan32", K)
    expected = reference.discriminator_param_counts(
        channels=[128, 128, 128, 128], downsample=[True, True, False, False],
        attention_resolutions=[16], num_classes=K, resolution=32)
    got = _counts(d)
    print(f"\nsagan32 D, {K} classes: trainable {got[0]:,} (formula {expected[0]:,}), "
          f"non-trainable {got[1]:,} (formula {expected[1]:,})")
    assert expected[0] == 1_075_586
    assert got == expected


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_parameter_counts_follow_the_formula(preset):
    d = build_discriminator(preset, K)
    p = PRESETS[preset]["discriminator"]  # the architecture's data; the counts: the formula's
    expected = reference.discriminator_param_counts(
        p["channels"], p["downsample"], p["attention_resolutions"], K,
        PRESETS[preset]["resolution"])
    got = _counts(d)
    print(f"\n{preset} D, {K} classes: trainable {got[0]:,}, non-trainable {got[1]:,}")
    assert got == expected


def _attention_layers(model):
    return [layer for layer in model.layers if isinstance(layer, SelfAttention)]


def test_no_attention_gives_the_sngan_projection_baseline():
    d = build_discriminator("sagan32", K, attention_resolutions=[], **NARROW)
    assert _attention_layers(d) == []
    t, n = reference.discriminator_param_counts([16] * 4, [True, True, False, False], [], K,
                                                32)
    assert d.count_params() == t + n


@pytest.mark.parametrize("resolutions,after", [
    ([16], {16: "block1"}),
    ([8], {8: "block2"}),       # blocks 2-4 output 8x8: attention after the first only
    ([16, 8], {16: "block1", 8: "block2"}),
])
def test_attention_at_each_listed_resolution_after_its_first_block(resolutions, after):
    d = build_discriminator("sagan32", K, attention_resolutions=resolutions, **NARROW)
    attention = _attention_layers(d)
    assert len(attention) == len(resolutions)
    assert sorted(int(a.input.shape[1]) for a in attention) == sorted(resolutions)
    for r, block in after.items():
        assert d.get_layer(f"attention{r}").input is d.get_layer(block).output


def test_overrides_reach_the_layers():
    d = build_discriminator("sagan32", K, channels=[8, 16, 32], downsample=[True, True, True],
                            attention_resolutions=[8], pool_keys=False, power_iterations=3)
    blocks = [layer for layer in d.layers if isinstance(layer, ResidualDownBlock)]
    assert [b.filters for b in blocks] == [8, 16, 32]
    assert tuple(d.get_layer("block3").output.shape) == (None, 4, 4, 32)
    att = d.get_layer("attention8")
    assert not att.pool_keys and att.power_iterations == 3
    assert all(b.power_iterations == 3 for b in blocks)
    assert d.get_layer("projection").power_iterations == 3
    t, n = reference.discriminator_param_counts([8, 16, 32], [True] * 3, [8], K, 32)
    assert d.count_params() == t + n


@pytest.mark.parametrize("kwargs,match", [
    (dict(preset="sagan48"), "Unknown preset"),
    (dict(latent_dim=64), r"Unknown discriminator setting\(s\) \['latent_dim'\]"),
    (dict(attention_resolutions=[32]), "No discriminator block outputs 32x32"),
    (dict(attention_resolutions=[4]), "No discriminator block outputs 4x4"),
    (dict(channels=[16, 12, 16, 16], attention_resolutions=[8]), "divisible by 8"),
    (dict(downsample=[True, True]), "same length"),
    (dict(channels=[16] * 6, downsample=[True] * 6), "Too many downsampling blocks"),
    (dict(num_classes=-1), "num_classes"),
])
def test_errors(kwargs, match):
    kwargs = {"preset": "sagan32", "num_classes": K, **NARROW, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_discriminator(**kwargs)


@pytest.mark.parametrize("labels", [np.zeros((3, 2)), np.zeros(()), np.zeros((3, 1, 1))])
def test_labels_of_wrong_rank(labels):
    d = build_discriminator("sagan32", K, **NARROW)
    x, _ = _inputs()
    with pytest.raises(ValueError, match="labels"):
        d([x, tf.constant(labels, "int32")])


def test_keras_save_and_load_give_equal_outputs(tmp_path):
    d = build_discriminator("sagan32", K, channels=[16, 16, 16, 16],
                            attention_resolutions=[16, 8])
    inputs = _inputs()
    _trained_state(d, inputs)
    path = str(tmp_path / "d.keras")
    d.save(path)
    loaded = keras.saving.load_model(path)
    assert (json.dumps(loaded.get_config(), sort_keys=True)
            == json.dumps(d.get_config(), sort_keys=True))
    for a, b in zip(loaded.weights, d.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(loaded(inputs, training=False).numpy(),
                               d(inputs, training=False).numpy(), rtol=1e-6, atol=1e-5)


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("bad", [K, -1])
def test_label_outside_the_classes_fails_naming_it_and_the_range(bad, training, mode):
    """-1 used to read class K - 1's embedding (`ops.take` wraps negative ids); it
    fails as K does."""
    d = build_discriminator("sagan32", K, **NARROW)
    x, _ = _inputs()
    labels = tf.constant([0, 1, bad], "int32")
    call = d if mode == "eager" else tf.function(lambda a: d(a, training=training))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"indices\[2\] = {bad} is not in \[0, {K}\)"):
        call([x, labels], training=training) if mode == "eager" else call([x, labels])


def test_valid_labels_in_a_graph_equal_the_numpy_composition():
    d = build_discriminator("sagan32", K, **NARROW)
    x, _ = _inputs(n=4)
    labels = tf.constant([K - 1, 0, 4, K - 1], "int32")
    _trained_state(d, [x, labels])
    y = tf.function(lambda a, b: d([a, b], training=False))(x, labels).numpy()
    expected = reference.discriminator(d, x.numpy(), labels.numpy(), [True, True, False, False],
                                       [16])
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("num_classes", [True, False, 10.0, "10"])
def test_num_classes_must_be_an_integer_in_keras_style(num_classes):
    with pytest.raises(ValueError, match=(
            rf"`num_classes` must be a positive integer. Received: num_classes={num_classes}$")):
        build_discriminator("sagan32", num_classes, **NARROW)


def test_unconditional_discriminator_is_psi_of_phi_in_numpy():
    """num_classes=None: input images only, no embedding, D(x) = psi(phi(x)): the
    NumPy composition of the blocks, then phi = sum relu and psi = x W / sigma + b."""
    d = build_discriminator("sagan32", None, **NARROW)
    x = _inputs()[0]
    assert [t.name for t in d.inputs] == ["images"]
    assert not [w for w in d.weights if "embed" in w.path]
    _trained_state(d, x)
    y = d(x, training=False).numpy()
    expected = reference.discriminator(d, x.numpy(), None, [True, True, False, False], [16])
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    # The same with phi from the network's own features: only psi follows them.
    head = d.get_layer("projection")
    features = keras.Model(d.inputs, head.input)(x).numpy().astype(np.float64)
    phi = np.maximum(features, 0).sum(axis=(1, 2))
    np.testing.assert_allclose(y, reference.sn_dense(head.psi, phi)[:, 0], rtol=1e-4,
                               atol=1e-4)
    assert np.ptp(y) > 1e-3


def test_strided_and_plain_discriminators_are_the_same_function_and_checkpoint(tmp_path):
    """D with `pooled_conv="strided"` (the default) and "plain": a checkpoint of one
    loads into the other; logits, the input gradient, every weight's gradient and the
    updated u agree to float32 rounding."""
    keras.utils.set_random_seed(1)
    inputs = _inputs(n=4)
    plain = build_discriminator("sagan32", K, pooled_conv="plain", **NARROW)
    _trained_state(plain, inputs)
    plain.save_weights(str(tmp_path / "plain.weights.h5"))
    strided = build_discriminator("sagan32", K, **NARROW)
    assert strided.get_layer("block1").pooled_conv == "strided"
    strided.load_weights(str(tmp_path / "plain.weights.h5"))
    results = []
    for d in (strided, plain):
        with tf.GradientTape() as tape:
            tape.watch(inputs[0])
            y = d(inputs, training=True)
            loss = tf.reduce_sum(y * tf.linspace(-1.0, 1.0, 4))
        grads = [tf.convert_to_tensor(t)
                 for t in tape.gradient(loss, [inputs[0]] + d.trainable_weights)]
        results.append([y] + grads + [d(inputs, training=False)] + d.non_trainable_weights)
    scale = max(np.abs(np.asarray(t)).max() for t in results[1])
    for got, want in zip(*results):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4,
                                   atol=1e-5 * scale)

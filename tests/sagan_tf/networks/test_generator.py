import json

import keras
import numpy as np
import pytest
import tensorflow as tf

import reference
from sagan_tf import build_generator
from sagan_tf.presets import PRESETS
from sagan_tf.layers import ConditionalBatchNorm, ResidualUpBlock, SelfAttention

K = 10
NARROW = dict(channels=[16, 16, 16])  # sagan32 layout at a width the tests can afford


def _inputs(n=3, latent_dim=128, seed=0):
    rng = np.random.RandomState(seed)
    return [tf.constant(rng.randn(n, latent_dim).astype("float32")),
            tf.constant(rng.randint(0, K, n).astype("int32"))]


def _trained_state(model, inputs, seed=0):
    """Moves u and the moving stats off their initial values, sets attention gammas and
    CBN gains/biases to random values, so that every term reaches the output."""
    model(inputs, training=True)
    rng = np.random.RandomState(seed)
    for layer in model._flatten_layers():
        if isinstance(layer, SelfAttention):
            layer.gamma.assign(rng.uniform(0.5, 1.5))
        if isinstance(layer, ConditionalBatchNorm):
            layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape).astype("float32"))
            layer.beta.assign(rng.randn(*layer.beta.shape).astype("float32") * 0.3)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_output_shapes_for_all_presets(preset):
    resolution = PRESETS[preset]["resolution"]
    g = build_generator(preset, K)
    assert tuple(g.input_shape[0]) == (None, 128)
    assert tuple(g.input_shape[1]) == (None,)
    assert tuple(g.output_shape) == (None, resolution, resolution, 3)
    y = g(_inputs(n=2), training=False)
    assert tuple(y.shape) == (2, resolution, resolution, 3) and y.dtype == tf.float32


def test_output_equals_numpy_composition_of_the_architecture():
    g = build_generator("sagan32", K, channels=[16, 16, 16], attention_resolutions=[8, 16])
    inputs = _inputs()
    _trained_state(g, inputs)
    y = g(inputs, training=False).numpy()
    expected = reference.generator(g, inputs[0].numpy(), inputs[1].numpy(), 4,
                                   [16, 16, 16], [8, 16])
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_fused_batch_norm_equals_the_plain_path_in_outputs_and_gradients():
    # Seeded: the two forwards round differently (x * a + b against Keras' normalize
    # then scale), and where a pre-activation lands within ~1e-6 of a ReLU's kink the
    # rounding flips the unit and moves the gradients by 1e-4 of their largest value.
    # Across 40 unseeded initialisations that happened in 5, identically before and
    # after BatchNorm's closed-form gradient; float64 matched the plain path then.
    keras.utils.set_random_seed(0)
    inputs = _inputs(n=6)
    fused = build_generator("sagan32", K, attention_resolutions=[16], **NARROW)
    plain = build_generator("sagan32", K, attention_resolutions=[16], fused_bn=False, **NARROW)
    _trained_state(fused, inputs)
    plain(inputs, training=False)
    plain.set_weights(fused.get_weights())
    results = []
    for g in (fused, plain):
        with tf.GradientTape() as tape:
            y = g(inputs, training=True)
            loss = tf.reduce_sum(y * tf.linspace(-1.0, 1.0, 3))
        grads = tape.gradient(loss, g.trainable_weights)
        results.append([y] + [tf.convert_to_tensor(t) for t in grads]
                       + [g(inputs, training=False)] + g.non_trainable_weights)
    assert len(results[0]) == len(results[1])
    # Float32 sums in a different order: differences of 1e-6 of the largest gradient
    # (~5e3 here), which shows on the conv biases before a batch norm (true gradient 0).
    atol = 1e-6 * max(np.abs(np.asarray(t)).max() for t in results[1])
    for a, b in zip(*results):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-4, atol=atol)


def test_output_is_tanh_of_the_last_conv_and_within_minus_one_one():
    g = build_generator("sagan32", K, **NARROW)
    z, labels = _inputs(n=4)
    z = z * 50.0  # drives the pre-activation far out
    pre = keras.Model(g.inputs, g.get_layer("conv_out").output)([z, labels]).numpy()
    y = g([z, labels]).numpy()
    np.testing.assert_allclose(y, np.tanh(pre), rtol=1e-5, atol=1e-6)
    assert np.abs(pre).max() > 1.0
    assert y.max() <= 1.0 and y.min() >= -1.0


def test_labels_condition_the_output():
    g = build_generator("sagan32", K, **NARROW)
    z, _ = _inputs(n=1)
    z = tf.repeat(z, 2, axis=0)
    _trained_state(g, [z, tf.constant([0, 1])])
    y = g([z, tf.constant([3, 7])], training=False).numpy()
    assert np.abs(y[0] - y[1]).max() > 1e-3


def test_parameter_counts_sagan32():
    g = build_generator("sagan32", K)
    trainable, non_trainable = reference.generator_param_counts(
        latent_dim=128, initial_size=4, channels=[256, 256, 256],
        attention_resolutions=[16], num_classes=K)
    got = (sum(int(np.prod(w.shape)) for w in g.trainable_weights),
           sum(int(np.prod(w.shape)) for w in g.non_trainable_weights))
    print(f"\nsagan32 G, {K} classes: trainable {got[0]:,} (formula {trainable:,}), "
          f"non-trainable {got[1]:,} (formula {non_trainable:,})")
    assert trainable == 4_386_308
    assert got == (trainable, non_trainable)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_parameter_counts_follow_the_formula(preset):
    g = build_generator(preset, K)
    p = PRESETS[preset]["generator"]  # the architecture's data; the counts: the formula's
    expected = reference.generator_param_counts(p["latent_dim"], p["initial_size"],
                                                p["channels"], p["attention_resolutions"], K,
                                                p.get("class_affine", "table"))
    got = (sum(int(np.prod(w.shape)) for w in g.trainable_weights),
           sum(int(np.prod(w.shape)) for w in g.non_trainable_weights))
    print(f"\n{preset} G, {K} classes: trainable {got[0]:,}, non-trainable {got[1]:,}")
    assert got == expected


def _attention_layers(model):
    return [layer for layer in model.layers if isinstance(layer, SelfAttention)]


def test_no_attention_gives_the_sngan_projection_baseline():
    g = build_generator("sagan32", K, attention_resolutions=[], **NARROW)
    assert _attention_layers(g) == []
    t, n = reference.generator_param_counts(128, 4, [16, 16, 16], [], K)
    assert g.count_params() == t + n


@pytest.mark.parametrize("resolutions", [[8], [8, 32], [8, 16, 32]])
def test_attention_at_each_listed_resolution_after_its_block(resolutions):
    g = build_generator("sagan32", K, attention_resolutions=resolutions, **NARROW)
    attention = _attention_layers(g)
    assert sorted(int(a.input.shape[1]) for a in attention) == sorted(resolutions)
    order = [layer.name for layer in g.layers
             if isinstance(layer, (ResidualUpBlock, SelfAttention))]
    for r in resolutions:
        block = f"block{[8, 16, 32].index(r) + 1}"
        # the attention layer takes the output of the block that outputs r x r
        assert order[order.index(f"attention{r}") - 1] == block
        assert g.get_layer(f"attention{r}").input is g.get_layer(block).output


def test_overrides_reach_the_layers():
    g = build_generator("sagan32", K, latent_dim=64, initial_size=8, channels=[24, 16],
                        attention_resolutions=[16], pool_keys=False, power_iterations=2,
                        bn_momentum=0.5, bn_epsilon=1e-3, synchronized_bn=True,
                        fused_bn=False)
    assert tuple(g.input_shape[0]) == (None, 64)
    assert tuple(g.get_layer("reshape").output.shape) == (None, 8, 8, 24)
    assert tuple(g.output_shape) == (None, 32, 32, 3)
    assert [b.filters for b in g.layers if isinstance(b, ResidualUpBlock)] == [24, 16]
    att = g.get_layer("attention16")
    assert not att.pool_keys and att.power_iterations == 2
    cbns = [layer for layer in g._flatten_layers() if isinstance(layer, ConditionalBatchNorm)]
    assert len(cbns) == 4
    assert all(c.momentum == 0.5 and c.epsilon == 1e-3 and c.synchronized and not c.fused
               for c in cbns)
    assert g.get_layer("bn_out").momentum == 0.5
    assert g.get_layer("conv_out").power_iterations == 2
    assert g.get_layer("dense").power_iterations == 2
    t, n = reference.generator_param_counts(64, 8, [24, 16], [16], K)
    assert g.count_params() == t + n


def test_preset_dict_is_accepted():
    preset = {"resolution": 16, "generator": {"latent_dim": 8, "initial_size": 4,
                                              "channels": [8, 8],
                                              "attention_resolutions": [8]}}
    g = build_generator(preset, 3)
    assert tuple(g.output_shape) == (None, 16, 16, 3)
    assert [a.name for a in _attention_layers(g)] == ["attention8"]


@pytest.mark.parametrize("kwargs,match", [
    (dict(preset="sagan48"), "Unknown preset"),
    (dict(depth=3), r"Unknown generator setting\(s\) \['depth'\]"),
    (dict(downsample=[True]), "Unknown generator setting"),  # a discriminator key
    (dict(attention_resolutions=[4]), "No generator block outputs 4x4"),
    (dict(attention_resolutions=[12]), "No generator block outputs 12x12"),
    (dict(channels=[16, 12, 16], attention_resolutions=[16]), "divisible by 8"),
    (dict(channels=[16, 16]), "must reach the preset's resolution 32"),
    (dict(channels=[]), "must reach the preset's resolution"),
    (dict(num_classes=0), "num_classes"),
])
def test_errors(kwargs, match):
    kwargs = {"preset": "sagan32", "num_classes": K, **NARROW, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_generator(**kwargs)


@pytest.mark.parametrize("labels", [np.zeros((3, 2)), np.zeros(()), np.zeros((3, 1, 1))])
def test_labels_of_wrong_rank(labels):
    g = build_generator("sagan32", K, **NARROW)
    z, _ = _inputs()
    with pytest.raises(ValueError, match="labels"):
        g([z, tf.constant(labels, "int32")])


def test_labels_with_trailing_unit_axis_are_squeezed():
    """Keras squeezes [N, 1] to the [N] input: the same images as with [N] labels."""
    g = build_generator("sagan32", K, **NARROW)
    z, labels = _inputs()
    np.testing.assert_allclose(g([z, labels[:, None]]).numpy(), g([z, labels]).numpy(),
                               rtol=1e-6, atol=1e-6)


def test_keras_save_and_load_give_equal_outputs(tmp_path):
    g = build_generator("sagan32", K, channels=[16, 16, 16], attention_resolutions=[8, 16])
    inputs = _inputs()
    _trained_state(g, inputs)
    path = str(tmp_path / "g.keras")
    g.save(path)
    loaded = keras.saving.load_model(path)
    # JSON turns tuples into lists: compare the configs as JSON.
    assert (json.dumps(loaded.get_config(), sort_keys=True)
            == json.dumps(g.get_config(), sort_keys=True))
    for a, b in zip(loaded.weights, g.weights):
        assert a.path == b.path
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(loaded(inputs, training=False).numpy(),
                               g(inputs, training=False).numpy(), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("mode", ["eager", "tf.function"])
@pytest.mark.parametrize("training", [True, False])
@pytest.mark.parametrize("bad", [K, -1])
def test_label_outside_the_classes_fails_naming_it_and_the_range(bad, training, mode):
    """-1 used to be class K - 1 (`ops.take` wraps negative ids); it fails as K does."""
    g = build_generator("sagan32", K, **NARROW)
    z, _ = _inputs()
    labels = tf.constant([0, bad, 3], "int32")
    call = g if mode == "eager" else tf.function(lambda a: g(a, training=training))
    with pytest.raises(tf.errors.InvalidArgumentError,
                       match=rf"indices\[1\] = {bad} is not in \[0, {K}\)"):
        call([z, labels], training=training) if mode == "eager" else call([z, labels])


def test_valid_labels_in_a_graph_equal_the_numpy_composition():
    g = build_generator("sagan32", K, channels=[16, 16, 16], attention_resolutions=[16])
    z, _ = _inputs(n=4)
    labels = tf.constant([K - 1, 0, 5, K - 1], "int32")
    _trained_state(g, [z, labels])
    y = tf.function(lambda a, b: g([a, b], training=False))(z, labels).numpy()
    expected = reference.generator(g, z.numpy(), labels.numpy(), 4, [16, 16, 16], [16])
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kwargs,match", [
    (dict(num_classes=True), r"`num_classes` must be a positive integer. "
                             r"Received: num_classes=True$"),
    (dict(num_classes=False), r"Received: num_classes=False$"),
    (dict(num_classes=10.0), r"Received: num_classes=10.0$"),
    (dict(latent_dim=0), r"`latent_dim` must be a positive integer. Received: latent_dim=0$"),
    (dict(latent_dim=-4), r"Received: latent_dim=-4$"),
    (dict(latent_dim=64.0), r"Received: latent_dim=64.0$"),
    (dict(latent_dim=True), r"Received: latent_dim=True$"),
    (dict(bn_epsilon=-1e-5), r"`bn_epsilon` must be a finite number >= 0. "
                             r"Received: bn_epsilon=-1e-05$"),
    (dict(bn_momentum=1.0), r"`bn_momentum` must be a number in \[0, 1\). "
                            r"Received: bn_momentum=1.0$"),
    (dict(bn_momentum=-0.5), r"Received: bn_momentum=-0.5$"),
])
def test_bad_arguments_are_refused_in_keras_style(kwargs, match):
    kwargs = {"preset": "sagan32", "num_classes": K, **NARROW, **kwargs}
    with pytest.raises(ValueError, match=match):
        build_generator(**kwargs)


def test_unconditional_generator_takes_z_alone_with_plain_batch_norms():
    g = build_generator("sagan32", None, channels=[16, 16, 16], attention_resolutions=[16])
    assert [t.name for t in g.inputs] == ["z"]
    assert not [layer for layer in g._flatten_layers()
                if isinstance(layer, ConditionalBatchNorm)]
    z = _inputs()[0]
    _trained_state(g, z)
    rng = np.random.RandomState(3)
    for i in (1, 2, 3):  # BN gains and biases that matter
        for bn in (g.get_layer(f"block{i}").bn_1, g.get_layer(f"block{i}").bn_2):
            bn.gamma.assign(rng.uniform(0.5, 1.5, bn.gamma.shape).astype("float32"))
            bn.beta.assign(rng.randn(*bn.beta.shape).astype("float32") * 0.3)
    y = g(z, training=False).numpy()
    expected = reference.generator(g, z.numpy(), None, 4, [16, 16, 16], [16])
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)
    # Per-channel gains and biases replace the per-class tables: K times fewer.
    conditional = build_generator("sagan32", K, channels=[16, 16, 16],
                                  attention_resolutions=[16])
    assert _counts_of(conditional) - _counts_of(g) == 2 * 2 * 16 * (K - 1) * 3


def _counts_of(model):
    return sum(int(np.prod(w.shape)) for w in model.trainable_weights)


def test_subpixel_and_plain_generators_are_the_same_function_and_checkpoint(tmp_path):
    """G with `upsample_conv="subpixel"` (the default) and "plain": a checkpoint of one
    loads into the other, and outputs (training and inference), every weight's
    gradient and the updated u agree to float32 rounding."""
    keras.utils.set_random_seed(1)
    inputs = _inputs(n=4)
    plain = build_generator("sagan32", K, upsample_conv="plain", **NARROW)
    _trained_state(plain, inputs)
    plain.save_weights(str(tmp_path / "plain.weights.h5"))
    subpixel = build_generator("sagan32", K, **NARROW)
    assert subpixel.get_layer("block1").upsample_conv == "subpixel"
    subpixel.load_weights(str(tmp_path / "plain.weights.h5"))
    results = []
    for g in (subpixel, plain):
        with tf.GradientTape() as tape:
            y = g(inputs, training=True)
            loss = tf.reduce_sum(y * tf.linspace(-1.0, 1.0, 3))
        grads = [tf.convert_to_tensor(t) for t in tape.gradient(loss, g.trainable_weights)]
        results.append([y] + grads + [g(inputs, training=False)] + g.non_trainable_weights)
    scale = max(np.abs(np.asarray(t)).max() for t in results[1])
    for got, want in zip(*results):
        np.testing.assert_allclose(np.asarray(got), np.asarray(want), rtol=1e-4,
                                   atol=1e-5 * scale)

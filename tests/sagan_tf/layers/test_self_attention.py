import keras
import numpy as np
import pytest
import tensorflow as tf

from reference import power_iteration, self_attention_layer
from sagan_tf.layers import SelfAttention, SpectralConv2D


def _x(shape, seed=0):
    return np.random.RandomState(seed).randn(*shape).astype("float32")


def _layer(shape, gamma=0.8, seed=0, **kwargs):
    """A built layer whose u vectors have converged (a trained layer's state: with a
    random u, sigma is underestimated and the logits blow up), gamma set nonzero."""
    kwargs.setdefault("kernel_initializer", keras.initializers.GlorotUniform(seed=seed))
    layer = SelfAttention(**kwargs)
    layer.build(shape)
    _converge_u(layer)
    layer.gamma.assign(gamma)
    return layer


def _converge_u(layer):
    for conv in (layer.f_conv, layer.g_conv, layer.h_conv, layer.v_conv):
        w = conv.kernel.numpy()
        conv.u.assign(np.linalg.svd(w.reshape(-1, w.shape[-1]))[2][:1])


def test_sublayers_are_bias_free_spectral_1x1_convs_of_paper_widths():
    layer = _layer((None, 4, 4, 32))
    convs = {"f": 4, "g": 4, "h": 16, "v": 32}
    for name, units in convs.items():
        conv = getattr(layer, f"{name}_conv")
        assert isinstance(conv, SpectralConv2D) and not conv.use_bias
        cin = 16 if name == "v" else 32
        assert tuple(conv.kernel.shape) == (1, 1, cin, units)
    assert {w.name for w in layer.trainable_weights} == {"kernel", "gamma"}
    assert len(layer.trainable_weights) == 5
    assert len(layer.non_trainable_weights) == 4  # one u per conv


@pytest.mark.parametrize("pool_keys,size", [(True, (6, 4)), (False, (5, 3))])
def test_output_and_attention_equal_paper_formula(pool_keys, size):
    shape = (2,) + size + (16,)
    layer = _layer(shape, gamma=0.7, pool_keys=pool_keys, return_attention=True)
    x = _x(shape)
    y, beta = layer(x, training=False)
    y_ref, beta_ref = self_attention_layer(layer, x)
    n_keys = size[0] * size[1] // (4 if pool_keys else 1)
    assert tuple(beta.shape) == (2, size[0] * size[1], n_keys)
    np.testing.assert_allclose(beta.numpy(), beta_ref, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(y.numpy(), y_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(beta.numpy().sum(axis=-1), 1.0, rtol=1e-5)
    # gamma * o is not negligible: the comparison sees the attention branch.
    assert np.abs(y.numpy() - x).max() > 1e-2


def test_pooling_matters():
    """The same weights with and without pooling give different outputs."""
    shape = (1, 4, 4, 8)
    x = _x(shape, seed=3)
    pooled = _layer(shape, pool_keys=True)
    plain = _layer(shape, pool_keys=False)
    plain.set_weights(pooled.get_weights())
    y_pooled, y_plain = pooled(x).numpy(), plain(x).numpy()
    assert np.abs(y_pooled - y_plain).max() > 1e-3
    np.testing.assert_allclose(y_plain, self_attention_layer(plain, x)[0], rtol=1e-4,
                               atol=1e-5)


def test_gamma_starts_at_zero_and_zero_gamma_is_the_identity():
    layer = SelfAttention()
    x = _x((2, 4, 4, 16), seed=1)
    y = layer(x, training=True).numpy()
    assert float(layer.gamma.numpy()) == 0.0
    np.testing.assert_array_equal(y, x)


@pytest.mark.parametrize("training", [False, True])
def test_permutation_equivariance_without_pooling(training):
    shape = (2, 3, 5, 16)
    layer = _layer(shape, gamma=1.3, pool_keys=False)
    x = _x(shape, seed=2)
    perm = np.random.RandomState(4).permutation(15)

    def permute(t):
        return t.reshape(2, 15, 16)[:, perm].reshape(shape)

    # A training call updates u: both calls start from the same u.
    u_before = [c.u.numpy() for c in (layer.f_conv, layer.g_conv, layer.h_conv, layer.v_conv)]
    y = layer(x, training=training).numpy()
    for c, u in zip((layer.f_conv, layer.g_conv, layer.h_conv, layer.v_conv), u_before):
        c.u.assign(u)
    y_perm = layer(permute(x), training=training).numpy()
    np.testing.assert_allclose(y_perm, permute(y), rtol=1e-4, atol=1e-5)
    assert not np.allclose(y_perm, y, atol=1e-3)


def test_training_call_updates_every_u_by_one_power_iteration():
    shape = (1, 4, 4, 16)
    layer = _layer(shape)
    convs = (layer.f_conv, layer.g_conv, layer.h_conv, layer.v_conv)
    expected = [power_iteration(c.kernel.numpy(), c.u.numpy())[1] for c in convs]
    layer(_x(shape), training=True)
    for c, u in zip(convs, expected):
        np.testing.assert_allclose(c.u.numpy(), u, rtol=1e-5, atol=1e-6)
    u_after = [c.u.numpy() for c in convs]
    layer(_x(shape), training=False)
    for c, u in zip(convs, u_after):
        np.testing.assert_array_equal(c.u.numpy(), u)


def test_gamma_receives_the_gradient_of_o():
    shape = (1, 4, 4, 8)
    layer = _layer(shape, gamma=0.0)
    x = _x(shape, seed=5)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(layer(x, training=False))
    grad = tape.gradient(loss, layer.gamma).numpy()
    # dL/dgamma = sum(o); o = (y - x) / gamma from the reference at gamma = 1.
    layer.gamma.assign(1.0)
    o = self_attention_layer(layer, x)[0] - x
    np.testing.assert_allclose(grad, o.sum(), rtol=1e-4)


def test_return_attention_in_functional_model_shapes():
    inputs = keras.Input((8, 6, 16))
    layer = SelfAttention(return_attention=True)
    y, beta = layer(inputs)
    _converge_u(layer)
    assert tuple(y.shape) == (None, 8, 6, 16)
    assert tuple(beta.shape) == (None, 48, 12)
    model = keras.Model(inputs, [y, beta])
    layer.gamma.assign(0.5)
    x = _x((2, 8, 6, 16))
    y_out, beta_out = model(x)
    y_ref, beta_ref = self_attention_layer(layer, x)
    np.testing.assert_allclose(y_out.numpy(), y_ref, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(beta_out.numpy(), beta_ref, rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize("channels", [12, 4, 20])
def test_channels_not_divisible_by_8(channels):
    with pytest.raises(ValueError, match="divisible by 8"):
        SelfAttention()(tf.zeros((1, 4, 4, channels)))


@pytest.mark.parametrize("size", [(5, 4), (4, 3), (3, 3)])
def test_odd_size_with_pool_keys(size):
    with pytest.raises(ValueError, match="even"):
        SelfAttention(pool_keys=True)(tf.zeros((1,) + size + (8,)))
    # The paper's unpooled formula accepts odd sizes.
    y = SelfAttention(pool_keys=False)(tf.zeros((1,) + size + (8,)))
    assert tuple(y.shape) == (1,) + size + (8,)


def test_config_round_trip_and_equal_outputs_after_copying_weights():
    layer = SelfAttention(pool_keys=False, return_attention=True, power_iterations=2,
                          kernel_initializer=keras.initializers.Orthogonal(seed=1),
                          name="att")
    x = _x((2, 4, 4, 16))
    layer(x, training=True)
    layer.gamma.assign(0.9)
    clone = SelfAttention.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
    clone.build(x.shape)
    clone.set_weights(layer.get_weights())
    for a, b in zip(clone(x), layer(x)):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)


def _grads(layer, x):
    """Output and gradients of sum(y^2) w.r.t. x and every trainable weight of a
    training call; every u restored afterwards (both paths start from the same u)."""
    u_before = [w.numpy() for w in layer.non_trainable_weights]
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(tf.square(tf.cast(y, "float32")))
    g = tape.gradient(loss, [x] + layer.trainable_weights)
    for w, u in zip(layer.non_trainable_weights, u_before):
        w.assign(u)
    return [np.asarray(t, np.float32) for t in [y] + g]


@pytest.mark.parametrize("policy", ["float32", "mixed_bfloat16"])
@pytest.mark.parametrize("pool_keys,size", [
    (True, (8, 6)), (False, (5, 3)),
    # 48 queries x 48 keys: the first case's query blocks with more key blocks (slow).
    pytest.param(False, (8, 6), marks=pytest.mark.slow)])
def test_memory_efficient_path_equals_the_plain_path(pool_keys, size, policy):
    """Output and gradients w.r.t. x and all five weights: the chunked path (blocks of
    5 queries x 4 keys: 12 or 48 and 15 positions, not multiples) against the
    plain N x N map, same weights."""
    shape = (2,) + size + (16,)
    layer = _layer(shape, gamma=0.6, pool_keys=pool_keys, memory_efficient=True,
                   query_chunk_size=5, key_chunk_size=4, dtype=policy)
    plain = SelfAttention.from_config({**layer.get_config(), "memory_efficient": False})
    plain.build(shape)
    plain.set_weights(layer.get_weights())
    x = tf.constant(_x(shape, seed=3))
    assert layer.uses_chunked_path(size[0] * size[1], 1) and not plain.uses_chunked_path(
        size[0] * size[1], 1)
    if policy == "float32":
        y_ref, _ = self_attention_layer(layer, x.numpy())
        np.testing.assert_allclose(layer(x, training=False).numpy(), y_ref, rtol=1e-4,
                                   atol=1e-5)
    # float32: the same sums in another order (blockwise, rescaled by exp(m_old - m_new)),
    # ~1e-6 relative. bfloat16 (8 significant bits, 0.4% per rounding): the two paths
    # round at different places (the plain path the normalised map, the chunked one the
    # unnormalised weights), a few roundings of each value; 3% of the largest.
    for a, b in zip(_grads(layer, x), _grads(plain, x)):
        if policy == "float32":
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5 * np.abs(b).max())
        else:
            np.testing.assert_allclose(a, b, atol=3e-2 * np.abs(b).max())
    assert np.abs(_grads(layer, x)[1]).max() > 0


def test_defaults_choose_the_memory_efficient_path_where_the_map_exceeds_a_block():
    layer = SelfAttention()  # the defaults: "auto", blocks of 1024 x 1024
    assert not layer.uses_chunked_path(32 * 32, 16 * 16)      # sagan128's feat32
    assert not layer.uses_chunked_path(32 * 32, 32 * 32)      # one block exactly
    assert layer.uses_chunked_path(64 * 64, 32 * 32)          # feat64, pooled
    assert layer.uses_chunked_path(128 * 128, 128 * 128)
    assert not layer.uses_chunked_path(None, 16)
    assert not SelfAttention(memory_efficient=False).uses_chunked_path(128 * 128, 128 ** 2)
    assert SelfAttention(memory_efficient=True).uses_chunked_path(4, 4)
    assert not SelfAttention(return_attention=True).uses_chunked_path(128 ** 2, 128 ** 2)

    def has_loop(layer, shape):
        fn = tf.function(lambda t: layer(t, training=True))
        graph = fn.get_concrete_function(tf.TensorSpec(shape)).graph
        return any(op.type in ("While", "StatelessWhile") for op in graph.get_operations())

    assert has_loop(SelfAttention(pool_keys=False), (1, 40, 40, 8))  # 1600 x 1600
    assert not has_loop(SelfAttention(pool_keys=False), (1, 32, 32, 8))


@pytest.mark.parametrize("kwargs", [{"query_chunk_size": 0}, {"key_chunk_size": -1},
                                    {"query_chunk_size": 2.5}, {"key_chunk_size": True},
                                    {"memory_efficient": "yes"}])
def test_chunk_settings_are_checked(kwargs):
    with pytest.raises(ValueError, match=next(iter(kwargs))):
        SelfAttention(**kwargs)


@pytest.mark.parametrize("memory_efficient", [False, True])
def test_empty_batch_gives_an_empty_output(memory_efficient):
    layer = _layer((None, 4, 4, 16), memory_efficient=memory_efficient,
                   query_chunk_size=3, key_chunk_size=3)
    y = layer(tf.zeros((0, 4, 4, 16)), training=False)
    assert tuple(y.shape) == (0, 4, 4, 16)
    fn = tf.function(lambda t: layer(t, training=False),
                     input_signature=[tf.TensorSpec((None, 4, 4, 16))])
    assert tuple(fn(tf.zeros((0, 4, 4, 16))).shape) == (0, 4, 4, 16)
    assert tuple(fn(tf.ones((3, 4, 4, 16))).shape) == (3, 4, 4, 16)


def test_memory_efficient_path_survives_a_savedmodel(tmp_path):
    """The custom gradient and its loops are saved and served (as sagan-export does
    with a generator whose attention takes this path)."""
    shape = (2, 6, 6, 16)
    layer = _layer(shape, gamma=0.5, pool_keys=False, memory_efficient=True,
                   query_chunk_size=5, key_chunk_size=7)
    module = tf.Module()
    module.layer = layer
    module.call = tf.function(lambda t: layer(t, training=False),
                              input_signature=[tf.TensorSpec((None, 6, 6, 16))])
    tf.saved_model.save(module, str(tmp_path / "sm"))
    x = _x(shape, seed=4)
    loaded = tf.saved_model.load(str(tmp_path / "sm"))
    np.testing.assert_allclose(loaded.call(tf.constant(x)).numpy(),
                               self_attention_layer(layer, x)[0], rtol=1e-4, atol=1e-5)

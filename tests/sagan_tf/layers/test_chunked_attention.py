import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.layers.chunked_attention import chunk_sizes, chunked_attention


def _numpy_attention(q, k, v, w):
    """softmax(q k^T) v in float64 NumPy, and the gradients of sum(w * out) w.r.t.
    q, k and v by the textbook formulas (dS = P * (dP - rowsum(dP * P)))."""
    q, k, v, w = (np.asarray(t, np.float64) for t in (q, k, v, w))
    s = np.einsum("bqd,bkd->bqk", q, k)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    out = p @ v
    dp = np.einsum("bqe,bke->bqk", w, v)
    ds = p * (dp - (dp * p).sum(-1, keepdims=True))
    return out, (ds @ k, np.einsum("bqk,bqd->bkd", ds, q), np.einsum("bqk,bqe->bke", p, w))


def _run(fn, q, k, v, w):
    q, k, v = (tf.constant(t) for t in (q, k, v))
    with tf.GradientTape() as tape:
        tape.watch([q, k, v])
        out = fn(q, k, v)
        loss = tf.reduce_sum(tf.cast(out, "float32") * w)
    return out.numpy(), [g.numpy() for g in tape.gradient(loss, [q, k, v])]


@pytest.mark.parametrize("n,m,query_chunk,key_chunk", [
    (15, 11, 4, 3),     # neither a multiple of its chunk: padded queries and keys
    (24, 6, 5, 4),
    (16, 16, 4, 8),     # exact multiples, no padding
    (7, 9, 100, 100),   # one block
])
@pytest.mark.parametrize("graph", [False, True])
def test_output_and_gradients_equal_numpy(n, m, query_chunk, key_chunk, graph):
    rs = np.random.RandomState(n + m)
    q, k = rs.randn(2, n, 4).astype("float32"), rs.randn(2, m, 4).astype("float32")
    v, w = rs.randn(2, m, 6).astype("float32"), rs.randn(2, n, 6).astype("float32")
    fn = lambda a, b, c: chunked_attention(a, b, c, query_chunk, key_chunk)  # noqa: E731
    out, grads = _run(tf.function(fn) if graph else fn, q, k, v, w)
    out_ref, grads_ref = _numpy_attention(q, k, v, w)
    # float32 against float64: a few float32 roundings of O(1) values summed over at
    # most 11 blocks and 4-6 channels, ~1e-6 on any CPU; 1e-5 leaves a margin.
    np.testing.assert_allclose(out, out_ref, rtol=1e-5, atol=1e-5)
    for g, g_ref in zip(grads, grads_ref):
        np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-5)


def test_large_logits_do_not_overflow():
    """Logits of several hundred (exp overflows float32 at 88): the running maximum
    keeps every exp <= 1, as a stable softmax does."""
    rs = np.random.RandomState(0)
    q, k = 30 * rs.randn(1, 10, 3).astype("float32"), 30 * rs.randn(1, 13, 3).astype(
        "float32")
    v, w = rs.randn(1, 13, 2).astype("float32"), rs.randn(1, 10, 2).astype("float32")
    out, grads = _run(lambda a, b, c: chunked_attention(a, b, c, 3, 4), q, k, v, w)
    out_ref, grads_ref = _numpy_attention(q, k, v, w)
    assert np.isfinite(out).all() and all(np.isfinite(g).all() for g in grads)
    # Logits of ~1e3 in float32 have an absolute error of ~1e-4 (ulp 6e-5), which
    # exp turns into a relative error of ~1e-4 of each weight.
    np.testing.assert_allclose(out, out_ref, rtol=1e-3, atol=1e-3)
    scale = max(np.abs(g).max() for g in grads_ref)
    for g, g_ref in zip(grads, grads_ref):
        np.testing.assert_allclose(g, g_ref, rtol=1e-3, atol=1e-3 * scale)


def test_bfloat16_inputs_close_to_float64():
    rs = np.random.RandomState(3)
    q, k = rs.randn(2, 20, 8), rs.randn(2, 14, 8)
    v, w = rs.randn(2, 14, 4), rs.randn(2, 20, 4).astype("float32")
    bf = [tf.constant(t, "bfloat16") for t in (q, k, v)]
    out, grads = _run(lambda a, b, c: chunked_attention(a, b, c, 6, 5), *bf, w)
    assert out.dtype == tf.bfloat16.as_numpy_dtype and grads[0].dtype == out.dtype
    out_ref, grads_ref = _numpy_attention(*[t.numpy().astype(np.float64) for t in bf], w)
    # bfloat16 keeps 8 significant bits (relative rounding 2^-9 = 0.2%): the logits
    # (sums of 8 products), the weights cast for the products and the outputs are
    # each rounded, a few 0.2% errors that add up to ~1%; 3% of the largest value.
    np.testing.assert_allclose(out.astype(np.float32), out_ref,
                               atol=3e-2 * np.abs(out_ref).max())
    for g, g_ref in zip(grads, grads_ref):
        np.testing.assert_allclose(g.astype(np.float32), g_ref,
                                   atol=3e-2 * np.abs(g_ref).max())


def test_unknown_batch_and_empty_batch():
    fn = tf.function(lambda a, b, c: chunked_attention(a, b, c, 4, 4), input_signature=[
        tf.TensorSpec((None, 9, 2)), tf.TensorSpec((None, 6, 2)), tf.TensorSpec((None, 6, 3))])
    assert tuple(fn(tf.zeros((0, 9, 2)), tf.zeros((0, 6, 2)), tf.zeros((0, 6, 3))).shape) \
        == (0, 9, 3)
    rs = np.random.RandomState(1)
    q, k, v = rs.randn(3, 9, 2), rs.randn(3, 6, 2), rs.randn(3, 6, 3)
    out = fn(*[tf.constant(t, "float32") for t in (q, k, v)]).numpy()
    np.testing.assert_allclose(out, _numpy_attention(q, k, v, np.zeros((3, 9, 3)))[0],
                               rtol=1e-5, atol=1e-5)


def test_chunk_sizes_cover_with_least_padding():
    for n in range(1, 40):
        for chunk in range(1, 12):
            count, size = chunk_sizes(n, chunk)
            assert size <= chunk and count * size >= n and (count - 1) * size < n
            assert count == -(-n // chunk)


def test_unknown_positions_are_refused():
    fn = tf.function(lambda a: chunked_attention(a, a, a),
                     input_signature=[tf.TensorSpec((1, None, 2))])
    with pytest.raises(ValueError, match="static query and key counts"):
        fn.get_concrete_function()

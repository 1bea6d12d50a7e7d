"""Exact softmax attention in blocks, without the N x N map in memory.

`chunked_attention(q, k, v)` equals `softmax(q k^T) v` (softmax over keys) but
never holds more than one [batch, query_chunk, key_chunk] block of the map:

- forward: for each chunk of queries, an online softmax over chunks of keys (a
  running maximum m and sum l per query, the output accumulated and rescaled by
  exp(m_old - m_new) whenever the maximum grows; Milakov & Gimelshein 2018, Rabe &
  Staats 2021). It keeps the output and the log-sum-exp L = m + log(l) per query.
- backward (a custom gradient): the blocks are recomputed from q, k and L,
  p = exp(q k^T - L), and with D = rowsum(dO * O): dV += p^T dO, dS = p (dO V^T - D),
  dQ += dS K, dK += dS^T Q (FlashAttention-2's backward, Dao 2023). Nothing of
  size N x N is kept between the passes.

Both loops run one iteration at a time (`_loop`) over chunks stacked on a leading axis (a
graph of one block's ops, whatever N); sizes that are not a multiple of the chunk
are padded (padded queries are dropped, padded keys get a -1e30 logit, so exp gives
them exactly 0). Products run in the inputs' dtype, the
softmax statistics and every accumulator in float32.
"""

from keras import ops

_MASKED = -1e30


def chunk_sizes(n, chunk):
    """(number of chunks, chunk size) covering n with the least padding."""
    count = -(-n // min(chunk, n))
    return count, -(-n // count)


def _split(t, count, size):
    """[B, n, c] -> [count, B, size, c], zero-padded along n."""
    n = t.shape[1]
    if count * size != n:
        t = ops.pad(t, ((0, 0), (0, count * size - n), (0, 0)))
    t = ops.reshape(t, (ops.shape(t)[0], count, size, t.shape[2]))
    return ops.transpose(t, (1, 0, 2, 3))


def _merge(t, n):
    """[count, B, size, c] -> [B, n, c] (padding dropped)."""
    count, _, size, c = t.shape
    t = ops.transpose(t, (1, 0, 2, 3))
    return ops.reshape(t, (ops.shape(t)[0], count * size, c))[:, :n]


def _loop(count, body, init):
    """`body(i, carry)` for i = 0 .. count - 1, one iteration at a time (`ops.scan`
    runs its while loop with parallel_iterations=1; `ops.fori_loop`'s default of 10
    would let later iterations' blocks, which depend only on i, be computed ahead and
    held: 6 GiB at 128x128 without pooling)."""
    return ops.scan(lambda carry, i: (body(i, carry), None), init, ops.arange(count))[0]


def _put(stack, i, value):
    """`stack` [count, ...] with entry i replaced by `value` (a select: no dynamic
    update-slice op, which TensorFlow runs only through XLA)."""
    at = ops.reshape(ops.arange(stack.shape[0]) == i, (-1,) + (1,) * (len(stack.shape) - 1))
    return ops.where(at, value[None], stack)


def chunked_attention(q, k, v, query_chunk=1024, key_chunk=1024):
    """softmax_keys(q k^T) v for q [B, N, d], k [B, M, d], v [B, M, e] -> [B, N, e].

    N, M, d and e must be known when traced; the batch may be unknown. Output in
    v's dtype; exact up to float rounding, with a gradient w.r.t. q, k and v.
    """
    n, m = q.shape[1], k.shape[1]
    if n is None or m is None:
        raise ValueError("`chunked_attention` needs static query and key counts. "
                         f"Received: q.shape={q.shape}, k.shape={k.shape}")
    nq, qc = chunk_sizes(n, query_chunk)
    nk, kc = chunk_sizes(m, key_chunk)
    d, e = q.shape[2], v.shape[2]

    def logits(q_i, k_j, j):
        s = ops.cast(ops.einsum("bqd,bkd->bqk", q_i, k_j), "float32")
        if nk * kc == m:
            return s
        real = ops.arange(kc) + j * kc < m  # padded keys: exp gives exactly 0
        return ops.where(real, s, _MASKED)

    @ops.custom_gradient
    def attend(q, k, v):
        qs, ks, vs = _split(q, nq, qc), _split(k, nk, kc), _split(v, nk, kc)
        batch = ops.shape(q)[0]

        def query_chunk_out(i, outputs):
            out, lse = outputs
            q_i = ops.take(qs, i, axis=0)

            def key_step(j, carry):
                m_old, l_old, acc = carry
                v_j = ops.take(vs, j, axis=0)
                s = logits(q_i, ops.take(ks, j, axis=0), j)
                # (`initial`: no emptiness check, which an empty batch would fail eagerly)
                m_new = ops.maximum(m_old, ops.max(s, axis=-1, initial=_MASKED))
                p = ops.exp(s - m_new[..., None])
                scale = ops.exp(m_old - m_new)
                pv = ops.cast(ops.matmul(ops.cast(p, v.dtype), v_j), "float32")
                return m_new, l_old * scale + ops.sum(p, axis=-1), \
                    acc * scale[..., None] + pv

            init = (ops.full((batch, qc), _MASKED, "float32"),
                    ops.zeros((batch, qc), "float32"), ops.zeros((batch, qc, e), "float32"))
            m_i, l_i, acc = _loop(nk, key_step, init)
            return (_put(out, i, ops.cast(acc / l_i[..., None], v.dtype)),
                    _put(lse, i, m_i + ops.log(l_i)))

        out, lse = _loop(nq, query_chunk_out,
                                 (ops.zeros((nq, batch, qc, e), v.dtype),
                                  ops.zeros((nq, batch, qc), "float32")))
        o = _merge(out, n)

        def grad(*args, upstream=None):
            do = ops.cast(args[0] if upstream is None else upstream, v.dtype)
            delta = ops.sum(ops.cast(do, "float32") * ops.cast(o, "float32"), axis=-1)
            dos = _split(do, nq, qc)
            deltas = _split(delta[..., None], nq, qc)[..., 0]

            def key_chunk_grads(j, grads):
                dq, dk, dv = grads
                k_j, v_j = ops.take(ks, j, axis=0), ops.take(vs, j, axis=0)

                def query_step(i, carry):
                    dq, dk_j, dv_j = carry
                    q_i, do_i = ops.take(qs, i, axis=0), ops.take(dos, i, axis=0)
                    lse_i, delta_i = ops.take(lse, i, axis=0), ops.take(deltas, i, axis=0)
                    p = ops.exp(logits(q_i, k_j, j) - lse_i[..., None])
                    dv_j = dv_j + ops.cast(
                        ops.einsum("bqk,bqe->bke", ops.cast(p, v.dtype), do_i), "float32")
                    dp = ops.cast(ops.einsum("bqe,bke->bqk", do_i, v_j), "float32")
                    ds = ops.cast(p * (dp - delta_i[..., None]), q.dtype)
                    dk_j = dk_j + ops.cast(ops.einsum("bqk,bqd->bkd", ds, q_i), "float32")
                    dq_i = ops.take(dq, i, axis=0) + ops.cast(
                        ops.einsum("bqk,bkd->bqd", ds, k_j), "float32")
                    return _put(dq, i, dq_i), dk_j, dv_j

                init = (dq, ops.zeros((batch, kc, d), "float32"),
                        ops.zeros((batch, kc, e), "float32"))
                dq, dk_j, dv_j = _loop(nq, query_step, init)
                return dq, _put(dk, j, dk_j), _put(dv, j, dv_j)

            init = (ops.zeros((nq, batch, qc, d), "float32"),
                    ops.zeros((nk, batch, kc, d), "float32"),
                    ops.zeros((nk, batch, kc, e), "float32"))
            dq, dk, dv = _loop(nk, key_chunk_grads, init)
            return (ops.cast(_merge(dq, n), q.dtype), ops.cast(_merge(dk, m), k.dtype),
                    ops.cast(_merge(dv, m), v.dtype))

        return o, grad

    return attend(q, k, v)

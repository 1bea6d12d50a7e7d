"""The weight-layout mapping of bench/studiogan_weights.py (used by bench/studiogan_update.py), against NumPy references of
torch's layouts and of both spectral-norm power iterations (no torch needed)."""

import numpy as np
import pytest

import studiogan_weights as su

RNG = np.random.default_rng(0)


def _normalize(x):
    return x / max(np.linalg.norm(x), 1e-6)


def torch_power_iteration(w_mat, u):
    """torch.nn.utils.spectral_norm's training-mode step on W [out, in] (dim 0)."""
    v = _normalize(w_mat.T @ u)
    u = _normalize(w_mat @ v)
    return u @ w_mat @ v, u, v


def ours_power_iteration(kernel, u):
    """sagan_tf.layers.spectral_norm on a kernel whose last axis is the output, with
    u [1, units] (returned 1-D): v = normalize(u W^T), u' = normalize(v W)."""
    w = kernel.reshape(-1, kernel.shape[-1])
    v = _normalize(w @ u[0])
    u = _normalize(w.T @ v)
    return v @ w @ u, u, v


def conv_nchw(x, w_oihw):
    """A 'same' (padding 1) 3x3 conv in torch's layouts, by loops."""
    n, c, h, wd = x.shape
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    out = np.zeros((n, w_oihw.shape[0], h, wd))
    for i in range(h):
        for j in range(wd):
            out[:, :, i, j] = np.einsum("ncab,ocab->no", xp[:, :, i:i + 3, j:j + 3], w_oihw)
    return out


def conv_nhwc(x, kernel):
    """The same conv in Keras' layouts, by loops."""
    n, h, wd, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((n, h, wd, kernel.shape[-1]))
    for i in range(h):
        for j in range(wd):
            out[:, i, j] = np.einsum("nabc,abco->no", xp[:, i:i + 3, j:j + 3], kernel)
    return out


def test_conv_kernel_gives_the_same_convolution_in_keras_layout():
    x = RNG.normal(size=(2, 3, 5, 4))
    w = RNG.normal(size=(6, 3, 3, 3))
    np.testing.assert_allclose(conv_nhwc(x.transpose(0, 2, 3, 1), su.conv_kernel(w)),
                               conv_nchw(x, w).transpose(0, 2, 3, 1), atol=1e-12)


def test_dense_kernel_and_nchw_order_give_the_same_features():
    channels, size = 5, 4
    w = RNG.normal(size=(channels * size * size, 7))
    b = RNG.normal(size=(channels * size * size,))
    z = RNG.normal(size=(3, 7))
    theirs = (z @ w.T + b).reshape(3, channels, size, size).transpose(0, 2, 3, 1)
    perm = su.nchw_to_nhwc_order(channels, size)
    ours = (z @ su.dense_kernel(w)[:, perm] + b[perm]).reshape(3, size, size, channels)
    np.testing.assert_allclose(ours, theirs, atol=1e-12)


@pytest.mark.parametrize("shape", [(6, 3, 3, 3), (4, 8, 1, 1)])
def test_conv_spectral_norm_state_maps_to_the_same_iteration(shape):
    w = RNG.normal(size=shape)
    u = _normalize(RNG.normal(size=shape[0]))
    sigma_t, u_t, _ = torch_power_iteration(w.reshape(shape[0], -1), u)
    sigma_o, u_o, _ = ours_power_iteration(su.conv_kernel(w), u[None])
    assert sigma_o == pytest.approx(sigma_t, rel=1e-12)
    np.testing.assert_allclose(u_o, u_t, atol=1e-12)


def test_permuted_dense_u_keeps_sigma():
    channels, size = 3, 2
    w = RNG.normal(size=(channels * size * size, 5))
    u = _normalize(RNG.normal(size=w.shape[0]))
    perm = su.nchw_to_nhwc_order(channels, size)
    sigma_t, u_t, _ = torch_power_iteration(w, u)
    sigma_o, u_o, _ = ours_power_iteration(su.dense_kernel(w)[:, perm], u[perm][None])
    assert sigma_o == pytest.approx(sigma_t, rel=1e-12)
    np.testing.assert_allclose(u_o, u_t[perm], atol=1e-12)


def test_cbn_linear_maps_to_an_embedding_with_the_same_u():
    """StudioGAN's SN-linear [C, classes] of the one-hot label is our SN embedding
    [classes, C] with u over C, unchanged."""
    w = RNG.normal(size=(8, 4))
    u = _normalize(RNG.normal(size=8))
    sigma_t, u_t, _ = torch_power_iteration(w, u)
    sigma_o, u_o, _ = ours_power_iteration(su.dense_kernel(w), u[None])
    assert sigma_o == pytest.approx(sigma_t, rel=1e-12)
    np.testing.assert_allclose(u_o, u_t, atol=1e-12)


def test_embedding_u_reproduces_torchs_first_iteration_on_orthogonal_rows():
    """torch iterates on E [classes, width] (u over classes), we on E as [fan_in,
    units] (u over the width). With orthonormal rows (StudioGAN's init) the mapped u
    gives the same sigma and the same u-v pair, so the same gradient; otherwise not."""
    q, _ = np.linalg.qr(RNG.normal(size=(8, 3)))
    e = q.T  # [3 classes, width 8], E E^T = I
    u = _normalize(RNG.normal(size=3))
    sigma_t, u_t, v_t = torch_power_iteration(e, u)
    u_ours = su.embedding_u(e.astype(np.float32), u.astype(np.float32)).astype(np.float64)
    assert np.linalg.norm(u_ours) == pytest.approx(1.0, rel=1e-6)
    np.testing.assert_allclose(_normalize(e @ u_ours), u, atol=1e-6)  # the half step
    sigma_o, u_o, v_o = ours_power_iteration(e, u_ours[None])
    assert sigma_o == pytest.approx(sigma_t, rel=1e-6)
    np.testing.assert_allclose(v_o, u_t, atol=1e-6)  # our v is torch's u
    np.testing.assert_allclose(u_o, v_t, atol=1e-6)  # our u is torch's v
    e2 = e + 0.3 * RNG.normal(size=e.shape)  # no longer orthogonal: the estimates differ
    u2 = su.embedding_u(e2, u).astype(np.float64)
    assert ours_power_iteration(e2, u2[None])[0] != pytest.approx(
        torch_power_iteration(e2, u)[0], rel=1e-6)


def _studiogan_like_state(conv_dim=2, classes=3):
    """A StudioGAN-named state dict with the shapes of its 32x32 G and D."""
    ch = 4 * conv_dim
    state_g = {"linear0.weight_orig": RNG.normal(size=(ch * 16, 128)),
               "linear0.bias": RNG.normal(size=ch * 16),
               "linear0.weight_u": RNG.normal(size=ch * 16)}

    def sn(prefix, shape, bias=True):
        state = {prefix + ".weight_orig": RNG.normal(size=shape),
                 prefix + ".weight_u": RNG.normal(size=shape[0]),
                 prefix + ".weight_v": RNG.normal(size=int(np.prod(shape[1:])))}
        if bias:
            state[prefix + ".bias"] = RNG.normal(size=shape[0])
        return state

    def attention(prefix, c):
        return {prefix + "sigma": np.array([0.5]),
                **sn(prefix + "conv1x1_theta", (c // 8, c, 1, 1), False),
                **sn(prefix + "conv1x1_phi", (c // 8, c, 1, 1), False),
                **sn(prefix + "conv1x1_g", (c // 2, c, 1, 1), False),
                **sn(prefix + "conv1x1_attn", (c, c // 2, 1, 1), False)}

    for i in (0, 1, 3):
        p = f"blocks.{i}.0."
        state_g.update({**sn(p + "conv2d0", (ch, ch, 1, 1)), **sn(p + "conv2d1", (ch, ch, 3, 3)),
                        **sn(p + "conv2d2", (ch, ch, 3, 3))})
        for j in (1, 2):
            state_g.update({**sn(f"{p}bn{j}.gain", (ch, classes), False),
                            **sn(f"{p}bn{j}.bias", (ch, classes), False),
                            f"{p}bn{j}.bn.running_mean": RNG.normal(size=ch),
                            f"{p}bn{j}.bn.running_var": RNG.uniform(size=ch),
                            f"{p}bn{j}.bn.num_batches_tracked": np.array(1)})
    state_g.update(attention("blocks.2.0.", ch))
    state_g.update({"bn4.weight": RNG.normal(size=ch), "bn4.bias": RNG.normal(size=ch),
                    "bn4.running_mean": RNG.normal(size=ch),
                    "bn4.running_var": RNG.uniform(size=ch),
                    "bn4.num_batches_tracked": np.array(1),
                    **sn("conv2d5", (3, ch, 3, 3))})
    dc = 2 * conv_dim * 4  # D channels divisible by 8 for attention
    state_d = {**sn("blocks.0.0.conv2d0", (dc, 3, 1, 1)), **sn("blocks.0.0.conv2d1", (dc, 3, 3, 3)),
               **sn("blocks.0.0.conv2d2", (dc, dc, 3, 3)), **attention("blocks.1.0.", dc),
               **sn("blocks.2.0.conv2d0", (dc, dc, 1, 1))}
    for i in (2, 3, 4):
        state_d.update({**sn(f"blocks.{i}.0.conv2d1", (dc, dc, 3, 3)),
                        **sn(f"blocks.{i}.0.conv2d2", (dc, dc, 3, 3))})
    q, _ = np.linalg.qr(RNG.normal(size=(dc, classes)))
    state_d.update({**sn("linear1", (1, dc)), "embedding.weight_orig": q.T,
                    "embedding.weight_u": _normalize(RNG.normal(size=classes)),
                    "embedding.weight_v": RNG.normal(size=dc)})
    return state_g, state_d


def test_generator_and_discriminator_paths_and_shapes():
    state_g, state_d = _studiogan_like_state()
    g, d = su.generator_weights(state_g), su.discriminator_weights(state_d)
    assert g["dense/kernel"].shape == (128, 128) and g["dense/sn_u"].shape == (1, 128)
    assert g["block3/cbn_2/gain/embeddings"].shape == (3, 8)
    assert g["attention16/f/kernel"].shape == (1, 1, 8, 1)
    np.testing.assert_array_equal(g["attention16/f/kernel"],
                                  su.conv_kernel(state_g["blocks.2.0.conv1x1_phi.weight_orig"]))
    np.testing.assert_array_equal(g["attention16/g/kernel"],
                                  su.conv_kernel(state_g["blocks.2.0.conv1x1_theta.weight_orig"]))
    assert g["attention16/gamma"].shape == ()
    assert "block4/conv_1/kernel" not in g and "block3/conv_1/kernel" in g
    assert d["attention16/v/kernel"].shape == (1, 1, 8, 16)
    assert "block2/conv_shortcut/kernel" in d and "block3/conv_shortcut/kernel" not in d
    assert d["projection/psi/kernel"].shape == (16, 1)
    assert d["projection/embed/sn_u"].shape == (1, 16)
    np.testing.assert_array_equal(
        su.discriminator_weights(dict(state_d, **{"embedding.weight_u": np.ones(16)}),
                                 embedding_sn_dim=1)["projection/embed/sn_u"], np.ones((1, 16)))


def test_unbiased_moving_variance_is_torchs_update():
    n, m = 10, 0.9
    batches = [RNG.normal(size=n) for _ in range(2)]
    ours = torch_ = 1.0
    for x in batches:
        ours = m * ours + (1 - m) * np.var(x)
        torch_ = m * torch_ + (1 - m) * np.var(x, ddof=1)
    assert su.unbiased_moving_variance(ours, n, updates=2) == pytest.approx(torch_, rel=1e-12)


def test_differences_groups_and_opposite_steps():
    init = {"block1/conv_1/bias": np.zeros(2), "block1/conv_1/kernel": np.ones(2),
            "block1/conv_1/sn_u": np.zeros(2), "bn_out/moving_mean": np.zeros(2)}
    theirs = {k: v + 0.1 for k, v in init.items()}
    ours = dict(theirs, **{"block1/conv_1/kernel": np.array([1.1, 0.9])})
    r = su.differences(ours, theirs, init, "G")
    assert set(r) == {"biases_before_bn", "weights", "sn_u", "bn_moving_mean"}
    assert r["weights"]["opposite_steps"] == 1 and r["weights"]["elements"] == 2
    assert r["weights"]["max_abs"] == pytest.approx(0.2)
    assert r["weights"]["max_abs_same_direction"] == 0.0
    assert r["weights"]["rel_step"] == pytest.approx(0.2 / np.sqrt(0.02))
    assert su.differences(ours, theirs, init, "D")["weights"]["elements"] == 4

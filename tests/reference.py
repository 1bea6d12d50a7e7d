"""Independent NumPy reference implementations that the tests compare against."""

import numpy as np


def l2n(x):
    return x / max(np.sqrt(np.sum(x * x)), 1e-6)


def sigma_from_u(kernel, u):
    """sigma = v W u^T with v = normalize(u W^T), W the kernel as [fan_in, units]."""
    w = np.asarray(kernel, np.float64).reshape(-1, kernel.shape[-1])
    u = np.asarray(u, np.float64)
    v = l2n(u @ w.T)
    return float((v @ w @ u.T).item())


def power_iteration(kernel, u):
    """One power iteration; returns (sigma, u_new, v)."""
    w = np.asarray(kernel, np.float64).reshape(-1, kernel.shape[-1])
    v = l2n(np.asarray(u, np.float64) @ w.T)
    u_new = l2n(v @ w)
    return float((v @ w @ u_new.T).item()), u_new, v


def conv2d_same(x, kernel, bias=None):
    """Stride-1 'same' cross-correlation, NHWC x, HWIO kernel, in float64."""
    x = np.asarray(x, np.float64)
    kh, kw, _, cout = kernel.shape
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    xp = np.pad(x, ((0, 0), (ph, kh - 1 - ph), (pw, kw - 1 - pw), (0, 0)))
    n, h, w, _ = x.shape
    out = np.zeros((n, h, w, cout))
    for i in range(kh):
        for j in range(kw):
            out += np.einsum("nhwc,co->nhwo", xp[:, i:i + h, j:j + w, :], kernel[i, j])
    if bias is not None:
        out += bias
    return out


def sn_conv(layer, x):
    """A SpectralConv2D's inference output from its weights: conv(x, W / sigma(u)) + b."""
    w = layer.kernel.numpy()
    sigma = sigma_from_u(w, layer.u.numpy())
    b = layer.bias.numpy() if layer.use_bias else None
    return conv2d_same(x, w / sigma, b)


def avg_pool2(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).mean(axis=(2, 4))


def max_pool2(x):
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def upsample2(x):
    return x.repeat(2, axis=1).repeat(2, axis=2)


def relu(x):
    return np.maximum(x, 0.0)


def softmax(s, axis=-1):
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def cbn_inference(x, labels, mean, var, gain, bias, eps):
    x_hat = (x - mean) / np.sqrt(var + eps)
    return gain[labels][:, None, None, :] * x_hat + bias[labels][:, None, None, :]


def conv2d(x, kernel, bias=None, strides=(1, 1), padding="same"):
    """Cross-correlation with strides and 'same'/'valid' padding (TF's rules), float64.

    'same': output size ceil(n / s), total padding max((out - 1) * s + k - n, 0) split
    with the smaller half before; 'valid': output size floor((n - k) / s) + 1.
    """
    x = np.asarray(x, np.float64)
    kernel = np.asarray(kernel, np.float64)
    kh, kw, _, cout = kernel.shape
    sh, sw = strides
    n, h, w, _ = x.shape
    if padding == "same":
        oh, ow = -(-h // sh), -(-w // sw)
        pad_h = max((oh - 1) * sh + kh - h, 0)
        pad_w = max((ow - 1) * sw + kw - w, 0)
        x = np.pad(x, ((0, 0), (pad_h // 2, pad_h - pad_h // 2),
                       (pad_w // 2, pad_w - pad_w // 2), (0, 0)))
    else:
        oh, ow = (h - kh) // sh + 1, (w - kw) // sw + 1
    out = np.zeros((n, oh, ow, cout))
    for i in range(kh):
        for j in range(kw):
            patch = x[:, i:i + (oh - 1) * sh + 1:sh, j:j + (ow - 1) * sw + 1:sw, :]
            out += np.einsum("nhwc,co->nhwo", patch, kernel[i, j])
    if bias is not None:
        out += bias
    return out


def conv2d_kernel_grad(x, r, kernel_shape):
    """dL/dK of L = <conv2d_same(x, K), r>: G[i, j, c, o] = sum x_pad[n, h+i, w+j, c] r[n, h, w, o]."""
    x = np.asarray(x, np.float64)
    kh, kw, _, _ = kernel_shape
    ph, pw = (kh - 1) // 2, (kw - 1) // 2
    xp = np.pad(x, ((0, 0), (ph, kh - 1 - ph), (pw, kw - 1 - pw), (0, 0)))
    _, h, w, _ = x.shape
    g = np.zeros(kernel_shape)
    for i in range(kh):
        for j in range(kw):
            g[i, j] = np.einsum("nhwc,nhwo->co", xp[:, i:i + h, j:j + w, :], r)
    return g


def sn_kernel(layer):
    """A spectral-norm layer's inference kernel W / sigma(u), sigma from the stored u."""
    w = np.asarray(layer.kernel.numpy(), np.float64)
    return w / sigma_from_u(w, layer.u.numpy())


def sn_dense(layer, x):
    """A SpectralDense's inference output x W / sigma + b."""
    y = np.asarray(x, np.float64) @ sn_kernel(layer)
    return y + layer.bias.numpy() if layer.use_bias else y


def batch_norm_train(x, eps):
    """(x - mean) / sqrt(var + eps) with the biased batch statistics over (N, H, W)."""
    x = np.asarray(x, np.float64)
    mean = x.mean(axis=(0, 1, 2))
    var = x.var(axis=(0, 1, 2))
    return (x - mean) / np.sqrt(var + eps), mean, var


def cbn_train(x, labels, gain, bias, eps):
    x_hat, _, _ = batch_norm_train(x, eps)
    return gain[labels][:, None, None, :] * x_hat + bias[labels][:, None, None, :]


def cbn_layer_inference(layer, x, labels):
    """A ConditionalBatchNorm's inference output from its moving stats, gains, biases."""
    bn = layer.batch_norm
    return cbn_inference(np.asarray(x, np.float64), np.asarray(labels),
                         bn.moving_mean.numpy(), bn.moving_variance.numpy(),
                         layer.gamma.numpy(), layer.beta.numpy(), layer.epsilon)


def self_attention(x, wf, wg, wh, wv, gamma, pool_keys):
    """SAGAN's attention (Zhang et al. 2018, eq. 1-3) with explicit 1x1-conv matrices.

    wf, wg: [C, C/8]; wh: [C, C/2]; wv: [C/2, C]. Keys f and values h are max-pooled
    2x2 when `pool_keys`. Returns (y, beta), beta[n, j, i] = softmax_i(f(x_i) . g(x_j)).
    """
    x = np.asarray(x, np.float64)
    n, height, width, c = x.shape
    f, g, h = x @ wf, x @ wg, x @ wh
    if pool_keys:
        f, h = max_pool2(f), max_pool2(h)
    f = f.reshape(n, -1, wf.shape[1])
    g = g.reshape(n, height * width, wg.shape[1])
    h = h.reshape(n, -1, wh.shape[1])
    beta = softmax(np.einsum("njd,nid->nji", g, f), axis=-1)
    o = np.einsum("nji,nic->njc", beta, h) @ wv
    return gamma * o.reshape(n, height, width, c) + x, beta


def self_attention_layer(layer, x):
    """A SelfAttention layer's inference output (y, beta) from its own weights."""
    def mat(conv):
        k = sn_kernel(conv)
        return k.reshape(k.shape[-2], k.shape[-1])
    return self_attention(x, mat(layer.f_conv), mat(layer.g_conv), mat(layer.h_conv),
                          mat(layer.v_conv), float(layer.gamma.numpy()), layer.pool_keys)


def up_block(layer, x, labels):
    """A ResidualUpBlock's inference output, composed in NumPy from its weights
    (labels None: an unconditional block, plain batch norms)."""
    up = upsample2 if layer.upsample else (lambda t: t)

    def norm(i, t):
        if labels is None:
            return batch_norm_inference(getattr(layer, f"bn_{i}"), t)
        return cbn_layer_inference(getattr(layer, f"cbn_{i}"), t, labels)

    h = relu(norm(1, x))
    h = sn_conv(layer.conv_1, up(h))
    h = relu(norm(2, h))
    h = sn_conv(layer.conv_2, h)
    return h + sn_conv(layer.conv_shortcut, up(np.asarray(x, np.float64)))


def down_block(layer, x, shortcut, optimized):
    """A ResidualDownBlock's inference output, composed in NumPy from its weights.

    `shortcut` is "conv" (SN 1x1 conv) or "identity"; `optimized` the first block of D
    (conv before activation, shortcut pools then convolves).
    """
    x = np.asarray(x, np.float64)
    down = avg_pool2 if layer.downsample else (lambda t: t)
    if optimized:
        h = sn_conv(layer.conv_2, relu(sn_conv(layer.conv_1, x)))
        return down(h) + sn_conv(layer.conv_shortcut, down(x))
    h = sn_conv(layer.conv_2, relu(sn_conv(layer.conv_1, relu(x))))
    s = sn_conv(layer.conv_shortcut, x) if shortcut == "conv" else x
    return down(h) + down(s)


def projection_head(layer, x, labels):
    """D(x, y) = psi(phi) + <E_SN[y], phi>, phi = sum_{h,w} relu(x) (labels None:
    D(x) = psi(phi), the unconditional head)."""
    phi = relu(np.asarray(x, np.float64)).sum(axis=(1, 2))
    psi = sn_dense(layer.psi, phi)[:, 0]
    if labels is None:
        return psi
    return psi + np.sum(sn_kernel(layer.embed)[np.asarray(labels)] * phi, axis=-1)


def hinge_d(real, fake):
    real, fake = np.asarray(real, np.float64), np.asarray(fake, np.float64)
    return np.mean(np.maximum(0.0, 1.0 - real)) + np.mean(np.maximum(0.0, 1.0 + fake))


def hinge_g(fake):
    return -np.mean(np.asarray(fake, np.float64))


def batch_norm_inference(layer, x):
    """A keras BatchNormalization's inference output from its moving stats."""
    x_hat = (np.asarray(x, np.float64) - layer.moving_mean.numpy()) / np.sqrt(
        layer.moving_variance.numpy() + layer.epsilon)
    return x_hat * layer.gamma.numpy() + layer.beta.numpy()


def generator(model, z, labels, initial_size, channels, attention_resolutions):
    """The SAGAN generator's inference output, composed in NumPy in the architecture's
    order (SN dense, reshape, up-blocks each followed by attention at the listed output
    resolutions, BN, ReLU, SN conv3x3, tanh) from the model's layers' weights."""
    h = sn_dense(model.get_layer("dense"), z)
    h = h.reshape(-1, initial_size, initial_size, channels[0])
    size = initial_size
    for i in range(len(channels)):
        h = up_block(model.get_layer(f"block{i + 1}"), h, labels)
        size *= 2
        if size in attention_resolutions:
            h = self_attention_layer(model.get_layer(f"attention{size}"), h)[0]
    h = relu(batch_norm_inference(model.get_layer("bn_out"), h))
    return np.tanh(sn_conv(model.get_layer("conv_out"), h))


def discriminator(model, x, labels, downsample, attention_resolutions):
    """The projection discriminator's inference output, composed in NumPy: an optimized
    first down-block, ordinary down-blocks, attention after the first block with each
    listed output resolution, then the projection head."""
    h = np.asarray(x, np.float64)
    size = h.shape[1]
    placed = set()
    for i, down in enumerate(downsample):
        block = model.get_layer(f"block{i + 1}")
        # SN 1x1 conv shortcut when the block downsamples or changes channels.
        shortcut = "conv" if i == 0 or down or h.shape[-1] != block.filters else "identity"
        h = down_block(block, h, shortcut, optimized=(i == 0))
        size = size // 2 if down else size
        if size in attention_resolutions and size not in placed:
            placed.add(size)
            h = self_attention_layer(model.get_layer(f"attention{size}"), h)[0]
    return projection_head(model.get_layer("projection"), h, labels)


def _conv_params(k, cin, cout, bias=True):
    return k * k * cin * cout + (cout if bias else 0)


def _attention_params(c):
    """(trainable, non-trainable): four bias-free 1x1 SN convs C->C/8, C->C/8, C->C/2,
    C/2->C plus gamma; one u per conv, as long as the conv's output."""
    trainable = 2 * c * (c // 8) + 2 * c * (c // 2) + 1
    return trainable, 2 * (c // 8) + c // 2 + c


def generator_param_counts(latent_dim, initial_size, channels, attention_resolutions,
                           num_classes, class_affine="table"):
    """(trainable, non-trainable) parameter counts of the SAGAN generator; with
    `class_affine="sn_linear"` each CBN's gain and bias tables carry a spectral-norm u of
    the channel width."""
    units = initial_size * initial_size * channels[0]
    trainable = latent_dim * units + units          # SN dense
    non_trainable = units                           # its u
    size, cin = initial_size, channels[0]
    for cout in channels:
        trainable += 2 * num_classes * (cin + cout)  # two CBNs: per-class gain and bias
        non_trainable += 2 * (cin + cout)            # their moving mean and variance
        if class_affine == "sn_linear":
            non_trainable += 2 * (cin + cout)        # the u of their gain and bias
        trainable += (_conv_params(3, cin, cout) + _conv_params(3, cout, cout)
                      + _conv_params(1, cin, cout))  # conv_1, conv_2, 1x1 shortcut
        non_trainable += 3 * cout                    # three u
        size *= 2
        if size in attention_resolutions:
            t, n = _attention_params(cout)
            trainable, non_trainable = trainable + t, non_trainable + n
        cin = cout
    trainable += 2 * cin + _conv_params(3, cin, 3)  # BN with gain and bias, SN conv out
    non_trainable += 2 * cin + 3                     # moving stats, u
    return trainable, non_trainable


def discriminator_param_counts(channels, downsample, attention_resolutions, num_classes,
                               resolution):
    """(trainable, non-trainable) parameter counts of the projection discriminator."""
    trainable = non_trainable = 0
    size, cin, placed = resolution, 3, set()
    for i, (cout, down) in enumerate(zip(channels, downsample)):
        trainable += _conv_params(3, cin, cout) + _conv_params(3, cout, cout)
        non_trainable += 2 * cout
        if i == 0 or down or cin != cout:            # 1x1 SN conv shortcut
            trainable += _conv_params(1, cin, cout)
            non_trainable += cout
        size = size // 2 if down else size
        if size in attention_resolutions and size not in placed:  # after the first only
            placed.add(size)
            t, n = _attention_params(cout)
            trainable, non_trainable = trainable + t, non_trainable + n
        cin = cout
    trainable += (cin + 1) + num_classes * cin       # psi (SN dense to 1), embedding
    non_trainable += 1 + cin                         # their u
    return trainable, non_trainable

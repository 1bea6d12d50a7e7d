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

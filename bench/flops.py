"""Analytic FLOP counts of the SAGAN networks (multiply-add = 2 FLOPs), forward pass."""

import numpy as np

from sagan_tf.layers import (ProjectionHead, ResidualDownBlock, ResidualUpBlock,
                             SelfAttention, SpectralConv2D, SpectralDense)


def _conv(layer, out_hw):
    kh, kw, cin, cout = layer.kernel.shape
    return 2 * out_hw[0] * out_hw[1] * kh * kw * cin * cout


def forward_flops_per_image(model, paper_order=False):
    """Convolutions, dense layers and attention matmuls of one image's forward pass.

    `paper_order=True` counts G's shortcut as the authors run it (1x1 conv after the
    upsampling, the issue's reference of 3.41 GFLOP for sagan32's G); False counts
    what `ResidualUpBlock` executes.
    """
    total = 0
    for layer in model.layers:
        shape = layer.output.shape if not isinstance(layer.output, (list, tuple)) else None
        if isinstance(layer, SpectralDense):
            total += 2 * int(np.prod(layer.kernel.shape))
        elif isinstance(layer, SpectralConv2D):
            total += _conv(layer, shape[1:3])
        elif isinstance(layer, ResidualUpBlock):
            hw = shape[1:3]
            total += _conv(layer.conv_1, hw) + _conv(layer.conv_2, hw)
            # The authors' order (upsample, then 1x1 conv) or ours (1x1 conv at the
            # input resolution, then upsample: a quarter of the FLOPs).
            sc_hw = hw if paper_order else layer.input[0].shape[1:3]
            total += _conv(layer.conv_shortcut, sc_hw)
        elif isinstance(layer, ResidualDownBlock):
            in_hw = layer.input.shape[1:3]
            total += _conv(layer.conv_1, in_hw) + _conv(layer.conv_2, in_hw)
            if layer.conv_shortcut is not None:
                # The authors pool after the ordinary block's 1x1 conv; we pool first.
                sc_hw = in_hw if paper_order and not layer.optimized else shape[1:3]
                total += _conv(layer.conv_shortcut, sc_hw)
        elif isinstance(layer, SelfAttention):
            h, w, c = shape[1:4]
            n = h * w
            m = n // 4 if layer.pool_keys else n
            total += 2 * n * c * (c // 8) * 2 + 2 * n * c * (c // 2)  # f, g, h
            total += 2 * n * m * (c // 8) + 2 * n * m * (c // 2)  # s = g f^T, o = beta h
            total += 2 * n * (c // 2) * c  # W_v
        elif isinstance(layer, ProjectionHead):
            total += 4 * layer.psi.kernel.shape[0]
    return total


def train_iteration_flops(generator, discriminator, batch_size, paper_order=False):
    """FLOPs of one D step + one G step at `batch_size`.

    D step: G forward, D forward on real and fake, D backward (2x forward) on both.
    G step: G forward and backward (3x), D forward and its input gradient (2x).
    Total per image: 4 G_f + 8 D_f.
    """
    g_f = forward_flops_per_image(generator, paper_order)
    d_f = forward_flops_per_image(discriminator, paper_order)
    return batch_size * (4 * g_f + 8 * d_f), g_f, d_f

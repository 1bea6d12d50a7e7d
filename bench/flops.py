"""Analytic FLOP counts of the SAGAN networks (multiply-add = 2 FLOPs), forward pass."""

import numpy as np

from sagan_tf.layers import (ProjectionHead, ResidualDownBlock, ResidualUpBlock,
                             SelfAttention, SpectralConv2D, SpectralDense)


def _conv(layer, out_hw):
    kh, kw, cin, cout = layer.kernel.shape
    return 2 * out_hw[0] * out_hw[1] * kh * kw * cin * cout


def _taps(block):
    """Multiply-adds per output pixel and input channel of the 3x3 conv next to the
    resampling: 9 in the plain path (upsample then conv; conv then pool, counted at the
    pooled resolution as 4 x 9), 4 in the sub-pixel form, 16 in the strided form."""
    if isinstance(block, ResidualUpBlock):
        return 4 if block.upsample and block.upsample_conv == "subpixel" else 9
    if not block.downsample:
        return 9
    return 16 if block.pooled_conv == "strided" else 36


def forward_flops_per_image(model, paper_order=False):
    """Convolutions, dense layers and attention matmuls of one image's forward pass.

    False (the default) counts what the layers execute as configured: the 1x1
    shortcuts at the lower resolution, and G's upsample-then-3x3-conv and D's
    3x3-conv-then-pool in their sub-pixel and strided forms when the blocks use them
    (`upsample_conv`, `pooled_conv`). `paper_order=True` counts the paper's
    formulation: the authors' shortcut order (1x1 conv after the upsampling, before
    the pooling; the issue's reference of 3.41 GFLOP for sagan32's G) and the plain
    3x3 convs at the upsampled / unpooled resolution, whatever the blocks execute.
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
            taps = 9 if paper_order else _taps(layer)
            total += _conv(layer.conv_1, hw) * taps // 9 + _conv(layer.conv_2, hw)
            # The authors' order (upsample, then 1x1 conv) or ours (1x1 conv at the
            # input resolution, then upsample: a quarter of the FLOPs).
            sc_hw = hw if paper_order else layer.input[0].shape[1:3]
            total += _conv(layer.conv_shortcut, sc_hw)
        elif isinstance(layer, ResidualDownBlock):
            in_hw = layer.input.shape[1:3]
            total += _conv(layer.conv_1, in_hw)
            if paper_order or not layer.downsample:
                total += _conv(layer.conv_2, in_hw)
            else:  # counted per pooled pixel: 36 (plain) or 16 (strided) taps
                total += _conv(layer.conv_2, shape[1:3]) * _taps(layer) // 9
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


def kernel_gradient_saving(model):
    """FLOPs per image and backward pass that `model` does not spend because its
    rewritten blocks take their kernel gradients for the 3x3 kernel (`kernel_gradient`
    in sagan_tf/layers/subpixel_conv.py and pooled_conv.py) instead of by autodiff of
    their 2x2 and 4x4 convolutions (which a backward pass counts as one forward):

    - a sub-pixel up-block: 9 multiply-adds per input pixel and channel pair instead
      of the four 2x2 phases' 16, that is 7/36 of the plain 3x3 conv at the upsampled
      resolution (36 per input pixel);
    - a strided down-block: 9 per pooled pixel instead of the 4x4 kernel's 16, that
      is 7/9 of a 3x3 conv at the pooled resolution.
    """
    total = 0
    for layer in model.layers:
        if (isinstance(layer, ResidualUpBlock) and layer.upsample
                and layer.upsample_conv == "subpixel"):
            total += _conv(layer.conv_1, layer.output.shape[1:3]) * 7 // 36
        elif (isinstance(layer, ResidualDownBlock) and layer.downsample
                and layer.pooled_conv == "strided"):
            total += _conv(layer.conv_2, layer.output.shape[1:3]) * 7 // 9
    return total


def train_iteration_flops(generator, discriminator, batch_size, paper_order=False):
    """FLOPs of one D step + one G step at `batch_size`.

    D step: G forward, D forward on real and fake, D backward (2x forward) on both.
    G step: G forward and backward (2x forward: input and kernel gradients), D forward
    and its input gradient (2x). Total per image: 4 G_f + 8 D_f, less
    `kernel_gradient_saving` of G once and of D twice (D's kernel gradients on the
    real and the fake batch); none with `paper_order` (the paper's plain convs).
    """
    g_f = forward_flops_per_image(generator, paper_order)
    d_f = forward_flops_per_image(discriminator, paper_order)
    saving = 0 if paper_order else (kernel_gradient_saving(generator)
                                    + 2 * kernel_gradient_saving(discriminator))
    return batch_size * (4 * g_f + 8 * d_f - saving), g_f, d_f

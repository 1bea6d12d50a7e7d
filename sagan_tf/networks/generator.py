"""The SAGAN generator."""

import keras

from sagan_tf import presets
from sagan_tf.layers import (BatchNorm, ResidualUpBlock, SelfAttention, SpectralConv2D,
                             SpectralDense)
from sagan_tf.layers.batch_norm import check_momentum_and_epsilon
from sagan_tf.layers.label_checks import check_num_classes, check_positive_int


def build_generator(preset, num_classes=None, name="generator", **overrides):
    """Builds the SAGAN generator as a functional `keras.Model`.

        z -> SNDense -> reshape to s x s x C_0 -> [ResidualUpBlock (+ SelfAttention)]*
          -> BN -> ReLU -> SNConv3x3 -> tanh

    Args:
        preset: a name in `sagan_tf.presets.PRESETS` or a preset dict.
        num_classes: number of classes of the conditional batch norms (a positive
            integer; labels must lie in [0, num_classes)), or None for an
            unconditional generator: plain batch norms (one gain and bias per channel,
            not per class) and no labels input.
        name: the model's name.
        **overrides: any key of the preset's "generator" dict (`latent_dim`,
            `image_channels`, `channels`, `attention_resolutions`, `initial_size`,
            `pool_keys`,
            `power_iterations`, `attention_query_chunk_size`, `bn_momentum`, `bn_epsilon`,
            `synchronized_bn`, `fused_bn`, `upsample_conv`, `class_affine`). `latent_dim` must be a
            positive integer, `bn_momentum` in [0, 1) and `bn_epsilon` >= 0.

    Returns:
        A model taking `[z, labels]` (float32 [N, latent_dim], int32 [N]), or `z` alone
        when unconditional, and returning float32 images in [-1, 1],
        [N, resolution, resolution, image_channels] (3 unless overridden).
    """
    if num_classes is not None:
        num_classes = check_num_classes(num_classes)
    s = presets.network_settings(preset, "generator", overrides)
    latent_dim = check_positive_int(s["latent_dim"], "latent_dim")
    image_channels = check_positive_int(s["image_channels"], "image_channels")
    check_momentum_and_epsilon(s["bn_momentum"], s["bn_epsilon"],
                               names=("bn_momentum", "bn_epsilon"))
    channels = list(s["channels"])
    size = s["initial_size"]
    output_sizes = [size * 2 ** (i + 1) for i in range(len(channels))]
    if not channels or output_sizes[-1] != s["resolution"]:
        raise ValueError(
            f"The generator's blocks must reach the preset's resolution {s['resolution']}: "
            f"initial_size * 2**len(channels) = {size} * 2**{len(channels)}. "
            f"Received: channels={channels}, initial_size={size}")
    _check_attention(s["attention_resolutions"], output_sizes, channels, "generator")

    z = keras.Input((latent_dim,), name="z")
    labels = None if num_classes is None else keras.Input((), dtype="int32", name="labels")
    x = SpectralDense(size * size * channels[0], power_iterations=s["power_iterations"],
                      name="dense")(z)
    x = keras.layers.Reshape((size, size, channels[0]), name="reshape")(x)
    placed = set()
    for i, (filters, out_size) in enumerate(zip(channels, output_sizes)):
        x = ResidualUpBlock(filters, num_classes, power_iterations=s["power_iterations"],
                            bn_momentum=s["bn_momentum"], bn_epsilon=s["bn_epsilon"],
                            synchronized_bn=s["synchronized_bn"], fused_bn=s["fused_bn"],
                            upsample_conv=s["upsample_conv"],
                            class_affine=s["class_affine"],
                            name=f"block{i + 1}")(x if labels is None else [x, labels])
        if out_size in s["attention_resolutions"] and out_size not in placed:
            placed.add(out_size)
            x = SelfAttention(pool_keys=s["pool_keys"], power_iterations=s["power_iterations"],
                              query_chunk_size=s["attention_query_chunk_size"],
                              name=f"attention{out_size}")(x)
    x = BatchNorm(momentum=s["bn_momentum"], epsilon=s["bn_epsilon"],
                  synchronized=s["synchronized_bn"], fused=s["fused_bn"], name="bn_out")(x)
    x = keras.layers.ReLU(name="relu_out")(x)
    x = SpectralConv2D(image_channels, 3, power_iterations=s["power_iterations"],
                       name="conv_out")(x)
    images = keras.layers.Activation("tanh", dtype="float32", name="images")(x)
    return keras.Model(z if labels is None else [z, labels], images, name=name)


def _check_attention(resolutions, output_sizes, channels, network):
    for r in resolutions:
        if r not in output_sizes:
            raise ValueError(
                f"No {network} block outputs {r}x{r} features for attention. "
                f"Received: attention_resolutions={list(resolutions)}; "
                f"block outputs: {output_sizes}")
        c = channels[output_sizes.index(r)]
        if c % 8:
            raise ValueError(
                f"Attention at {r}x{r} needs channels divisible by 8. Received: {c} channels "
                f"in the {network} block that outputs {r}x{r}")

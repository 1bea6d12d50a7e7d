"""The SAGAN projection discriminator."""

import keras

from sagan_tf import presets
from sagan_tf.layers import ProjectionHead, ResidualDownBlock, SelfAttention
from sagan_tf.layers.label_checks import check_num_classes, check_positive_int
from sagan_tf.networks.generator import _check_attention


def build_discriminator(preset, num_classes=None, name="discriminator", **overrides):
    """Builds the SAGAN projection discriminator as a functional `keras.Model`.

        x -> ResidualDownBlock(optimized) (+ SelfAttention) -> [ResidualDownBlock]*
          -> ReLU -> global sum pooling = phi -> psi(phi) + <embed(y), phi>

    Unconditional (`num_classes=None`): no projection term, D(x) = psi(phi(x)).

    Args:
        preset: a name in `sagan_tf.presets.PRESETS` or a preset dict.
        num_classes: number of classes of the projection embedding (a positive
            integer; labels must lie in [0, num_classes)), or None for an
            unconditional discriminator without labels input.
        name: the model's name.
        **overrides: any key of the preset's "discriminator" dict (`image_channels`,
            `channels`,
            `downsample`, `attention_resolutions`, `pool_keys`, `power_iterations`,
            `attention_query_chunk_size`, `pooled_conv`).

    Returns:
        A model taking `[images, labels]` (float32 [N, resolution, resolution,
        image_channels], 3 unless overridden;
        int32 [N]), or `images` alone when unconditional, and returning one float32
        logit per image, shape [N].
    """
    if num_classes is not None:
        num_classes = check_num_classes(num_classes)
    s = presets.network_settings(preset, "discriminator", overrides)
    channels, downsample = list(s["channels"]), list(s["downsample"])
    if not channels or len(channels) != len(downsample):
        raise ValueError(
            "`channels` and `downsample` must be non-empty lists of the same length. "
            f"Received: channels={channels}, downsample={downsample}")
    size, output_sizes = s["resolution"], []
    for down in downsample:
        size = size // 2 if down else size
        output_sizes.append(size)
    if size < 1:
        raise ValueError(f"Too many downsampling blocks for resolution {s['resolution']}. "
                         f"Received: downsample={downsample}")
    _check_attention(s["attention_resolutions"], output_sizes, channels, "discriminator")

    res = s["resolution"]
    image_channels = check_positive_int(s["image_channels"], "image_channels")
    images = keras.Input((res, res, image_channels), name="images")
    labels = None if num_classes is None else keras.Input((), dtype="int32", name="labels")
    h, placed = images, set()
    for i, (filters, down, out_size) in enumerate(zip(channels, downsample, output_sizes)):
        h = ResidualDownBlock(filters, downsample=down, optimized=(i == 0),
                              power_iterations=s["power_iterations"],
                              pooled_conv=s["pooled_conv"], name=f"block{i + 1}")(h)
        if out_size in s["attention_resolutions"] and out_size not in placed:
            placed.add(out_size)
            h = SelfAttention(pool_keys=s["pool_keys"], power_iterations=s["power_iterations"],
                              query_chunk_size=s["attention_query_chunk_size"],
                              name=f"attention{out_size}")(h)
    logits = ProjectionHead(num_classes, power_iterations=s["power_iterations"],
                            name="projection")(h if labels is None else [h, labels])
    return keras.Model(images if labels is None else [images, labels], logits, name=name)

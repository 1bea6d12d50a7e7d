"""Architecture presets: plain data, one entry per resolution.

Each preset has the image `resolution` and one dict per network; `build_generator`
and `build_discriminator` accept overrides of any key of their network's dict.

- `sagan32`: the layout of public SAGAN/SNGAN CIFAR-10 code. G: z (128) -> SN dense to
  4x4x256, three up-blocks of 256 channels to 32x32, attention at 16x16. D: an optimized
  block 3 -> 128 to 16x16, attention at 16x16, a down-block to 8x8, two blocks without
  downsampling.
- `sagan64`, `sagan128`: the paper's ImageNet layout with ch = 64 (G blocks 16ch, 8ch,
  4ch, 2ch[, ch]; D mirrored: optimized ch, then 2ch, 4ch, 8ch, 16ch[, 16ch without
  downsampling]), attention at the 32x32 feature maps of both networks (the paper's
  "feat32"; use attention_resolutions=[64] for "feat64" at 128 pixels).

- `sagan256`: BigGAN's 256-pixel layout (Brock et al. 2019, table 9(c)) at the paper's
  ch = 64: G blocks 16ch, 8ch, 8ch, 4ch, 2ch, ch from 4x4 to 256x256; D optimized ch,
  then 2ch, 4ch, 8ch, 8ch, 16ch, 16ch without downsampling; attention at the 64x64
  feature maps of both, as BigGAN places it (64x64 pooled keys: a 4096 x 1024 map per
  image, which SelfAttention computes by its memory-efficient path).

- `sagan32_small`: `sagan32` with 32 channels in every block (an eighth of G's width, a
  quarter of D's), for
  small data and short runs such as the README's first command on the bundled digits.
  It carries what such runs need (docs/studies.md, "Varied samples"): conditional batch
  norm's class affine as BigGAN's `sn_linear` (departure from the paper's tables), and in
  its `training` dict G's learning rate 3e-4 (TTUR's 1e-4 learns the classes too slowly
  in 2,000 steps) and MSGAN's mode-seeking term (not in SAGAN).

A preset's optional `training` dict sets the defaults of the training settings listed in
`TRAINING_DEFAULTS` (the paper's values) for runs of that preset; a flag still wins.

`attention_resolutions` is a list: empty gives the SNGAN-projection baseline without
attention, several entries put attention at several places (after the first block whose
output has that resolution).
"""

import copy

_CH = 64
#: sagan32_small's mode-seeking weight (docs/studies.md, "Varied samples").
MODE_SEEKING_SMALL = 0.1

PRESETS = {
    "sagan32": {
        "resolution": 32,
        "generator": {
            "latent_dim": 128,
            "initial_size": 4,
            "channels": [256, 256, 256],
            "attention_resolutions": [16],
        },
        "discriminator": {
            "channels": [128, 128, 128, 128],
            "downsample": [True, True, False, False],
            "attention_resolutions": [16],
        },
    },
    "sagan64": {
        "resolution": 64,
        "generator": {
            "latent_dim": 128,
            "initial_size": 4,
            "channels": [16 * _CH, 8 * _CH, 4 * _CH, 2 * _CH],
            "attention_resolutions": [32],
        },
        "discriminator": {
            "channels": [_CH, 2 * _CH, 4 * _CH, 8 * _CH, 16 * _CH],
            "downsample": [True, True, True, True, False],
            "attention_resolutions": [32],
        },
    },
    "sagan128": {
        "resolution": 128,
        "generator": {
            "latent_dim": 128,
            "initial_size": 4,
            "channels": [16 * _CH, 8 * _CH, 4 * _CH, 2 * _CH, _CH],
            "attention_resolutions": [32],
        },
        "discriminator": {
            "channels": [_CH, 2 * _CH, 4 * _CH, 8 * _CH, 16 * _CH, 16 * _CH],
            "downsample": [True, True, True, True, True, False],
            "attention_resolutions": [32],
        },
    },
    "sagan256": {
        "resolution": 256,
        "generator": {
            "latent_dim": 128,
            "initial_size": 4,
            "channels": [16 * _CH, 8 * _CH, 8 * _CH, 4 * _CH, 2 * _CH, _CH],
            "attention_resolutions": [64],
        },
        "discriminator": {
            "channels": [_CH, 2 * _CH, 4 * _CH, 8 * _CH, 8 * _CH, 16 * _CH, 16 * _CH],
            "downsample": [True] * 6 + [False],
            "attention_resolutions": [64],
        },
    },
    "sagan32_small": {
        "resolution": 32,
        "generator": {
            "latent_dim": 128,
            "initial_size": 4,
            "channels": [32, 32, 32],
            "attention_resolutions": [16],
            "class_affine": "sn_linear",
        },
        "discriminator": {
            "channels": [32, 32, 32, 32],
            "downsample": [True, True, False, False],
            "attention_resolutions": [16],
        },
        "training": {"g_lr": 3e-4, "mode_seeking": MODE_SEEKING_SMALL},
    },
}

# Training settings a preset's `training` dict may set, with the paper's values: TTUR's
# learning rates (SAGAN section 5) and no mode-seeking term.
TRAINING_DEFAULTS = {"g_lr": 1e-4, "d_lr": 4e-4, "mode_seeking": 0.0}

# Settings every network accepts as overrides, with their defaults.
COMMON_DEFAULTS = {
    # Channels of the images G draws and D reads: 3 (RGB), 1 (grayscale), N (multispectral).
    "image_channels": 3,
    "pool_keys": True,
    "power_iterations": 1,
    # SelfAttention's memory-efficient path (taken where the attention map exceeds one
    # block): queries per block (None: the layer's 1024).
    "attention_query_chunk_size": None,
}
GENERATOR_DEFAULTS = {
    **COMMON_DEFAULTS,
    "bn_momentum": 0.9,
    "bn_epsilon": 1e-5,
    "synchronized_bn": False,
    # BatchNorm / ConditionalBatchNorm as one scale-and-shift (False: Keras' path).
    "fused_bn": True,
    # ResidualUpBlock's upsample-then-3x3-conv: "subpixel" (four 2x2 convs, same
    # function) or "plain" (as the paper writes it).
    "upsample_conv": "subpixel",
    # ConditionalBatchNorm's class gains and biases: "table" (the paper's free tables)
    # or "sn_linear" (BigGAN's and StudioGAN's spectrally normalized offsets).
    "class_affine": "table",
}
DISCRIMINATOR_DEFAULTS = {
    **COMMON_DEFAULTS,
    # ResidualDownBlock's 3x3-conv-then-pool: "strided" (one 4x4 stride-2 conv, same
    # function) or "plain" (as the paper writes it).
    "pooled_conv": "strided",
}


DEFAULT_PRESET = "sagan32"

# What each network setting means (plain data; the programs' --g_<key>/--d_<key> help).
NETWORK_SETTING_HELP = {
    "latent_dim": "size of z",
    "initial_size": "height and width of the first feature map",
    "channels": "output channels of each residual block (comma-separated)",
    "downsample": "whether each block halves the resolution (comma-separated true/false)",
    "attention_resolutions": "feature-map resolutions with self-attention "
                             "(comma-separated; empty: none, the SNGAN baseline)",
    "image_channels": "channels of the images G draws and D reads (3: RGB, 1: grayscale, "
                      "N: multispectral)",
    "pool_keys": "2x2 max-pool the attention keys and values (the authors' code)",
    "power_iterations": "spectral-norm power iterations per training step",
    "attention_query_chunk_size": "attention queries per block of the memory-efficient "
                                  "path (unset: 1024)",
    "bn_momentum": "batch-norm moving-average momentum",
    "bn_epsilon": "batch-norm epsilon",
    "synchronized_bn": "batch-norm statistics over the global batch of all replicas",
    "fused_bn": "batch norm as one fused scale-and-shift (false: Keras' layer)",
    "upsample_conv": "upsample-then-3x3-conv of the up-blocks: subpixel (four 2x2 convs "
                     "at the input resolution, the same function) or plain",
    "class_affine": "conditional batch norm's class gains and biases: table (the "
                    "paper's free tables) or sn_linear (1 + SN-linear(one-hot) and "
                    "SN-linear(one-hot), orthogonally initialised: BigGAN, StudioGAN)",
    "pooled_conv": "3x3-conv-then-avgpool of the down-blocks: strided (one 4x4 stride-2 "
                   "conv, the same function) or plain",
}


def get_preset(name):
    """Returns a deep copy of the preset `name` (or of a preset dict passed in)."""
    if isinstance(name, dict):
        return copy.deepcopy(name)
    if name not in PRESETS:
        raise ValueError(
            f"Unknown preset. Received: preset={name!r}. Available: {sorted(PRESETS)}")
    return copy.deepcopy(PRESETS[name])


def training_settings(preset):
    """The training defaults of `preset`: `TRAINING_DEFAULTS` with its `training` dict."""
    preset = get_preset(preset)
    unknown = sorted(set(preset.get("training", {})) - set(TRAINING_DEFAULTS))
    if unknown:
        raise ValueError(f"Unknown training setting(s) {unknown} in the preset. "
                         f"Allowed: {sorted(TRAINING_DEFAULTS)}")
    return {**TRAINING_DEFAULTS, **preset.get("training", {})}


def network_settings(preset, network, overrides):
    """Merges the preset's settings for `network` with defaults and overrides."""
    preset = get_preset(preset)
    defaults = GENERATOR_DEFAULTS if network == "generator" else DISCRIMINATOR_DEFAULTS
    settings = {**defaults, **preset[network], "resolution": preset["resolution"]}
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise ValueError(
            f"Unknown {network} setting(s) {unknown}. Allowed: {sorted(settings)}")
    settings.update(overrides)
    return settings

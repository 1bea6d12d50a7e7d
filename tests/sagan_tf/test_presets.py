import pytest

from sagan_tf import presets
from sagan_tf.presets import PRESETS, get_preset, network_settings

CH = 64  # the paper's ch at 64 and 128 pixels


def test_every_preset_is_named_after_its_resolution():
    assert PRESETS and presets.DEFAULT_PRESET in PRESETS
    for name, preset in PRESETS.items():
        assert preset["resolution"] == int(name[len("sagan"):])


def test_sagan128_is_the_papers_imagenet_architecture():
    """SPEC: z of 128 dims; G: SN dense to 4x4x16ch, up-blocks 16ch, 8ch, 4ch, 2ch, ch;
    D mirrors it with down-blocks, a last block without downsampling; attention at 32."""
    g, d = PRESETS["sagan128"]["generator"], PRESETS["sagan128"]["discriminator"]
    assert g["latent_dim"] == 128 and g["initial_size"] == 4
    assert g["channels"] == [16 * CH, 8 * CH, 4 * CH, 2 * CH, CH]
    assert d["channels"] == [CH, 2 * CH, 4 * CH, 8 * CH, 16 * CH, 16 * CH]
    assert d["downsample"] == [True] * 5 + [False]
    assert g["attention_resolutions"] == [32] and d["attention_resolutions"] == [32]


def test_sagan64_follows_the_same_pattern_with_one_block_fewer():
    g, d = PRESETS["sagan64"]["generator"], PRESETS["sagan64"]["discriminator"]
    assert g["latent_dim"] == 128 and g["initial_size"] == 4
    assert g["channels"] == [16 * CH, 8 * CH, 4 * CH, 2 * CH]
    assert d["channels"] == [CH, 2 * CH, 4 * CH, 8 * CH, 16 * CH]
    assert d["downsample"] == [True] * 4 + [False]
    assert g["attention_resolutions"] == [32] and d["attention_resolutions"] == [32]


def test_sagan256_is_biggans_256_layout_at_ch_64():
    """BigGAN-PyTorch's arch[256]: G out channels ch*[16, 8, 8, 4, 2, 1], D
    ch*[1, 2, 4, 8, 8, 16, 16] with the last block not downsampling, attention at 64."""
    g, d = PRESETS["sagan256"]["generator"], PRESETS["sagan256"]["discriminator"]
    assert g["latent_dim"] == 128 and g["initial_size"] == 4
    assert g["channels"] == [CH * m for m in (16, 8, 8, 4, 2, 1)]
    assert d["channels"] == [CH * m for m in (1, 2, 4, 8, 8, 16, 16)]
    assert d["downsample"] == [True] * 6 + [False]
    assert g["attention_resolutions"] == [64] and d["attention_resolutions"] == [64]


def test_sagan32_is_the_cifar_layout():
    g, d = PRESETS["sagan32"]["generator"], PRESETS["sagan32"]["discriminator"]
    assert g["latent_dim"] == 128 and g["initial_size"] == 4
    assert g["channels"] == [256] * 3
    assert d["channels"] == [128] * 4
    assert d["downsample"] == [True, True, False, False]
    assert g["attention_resolutions"] == [16] and d["attention_resolutions"] == [16]


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_consistent(name):
    preset = PRESETS[name]
    res = preset["resolution"]
    g, d = preset["generator"], preset["discriminator"]
    g_sizes = [g["initial_size"] * 2 ** (i + 1) for i in range(len(g["channels"]))]
    assert g_sizes[-1] == res  # the up-blocks reach the image resolution
    d_sizes, size = [], res
    for down in d["downsample"]:
        size = size // 2 if down else size
        d_sizes.append(size)
    assert len(d["channels"]) == len(d["downsample"])
    assert d_sizes[-1] == res // 2 ** sum(d["downsample"]) >= 4
    assert d["downsample"][-1] is False  # a last block without downsampling
    for sizes, net in ((g_sizes, g), (d_sizes, d)):
        for r in net["attention_resolutions"]:
            assert r in sizes
            assert net["channels"][sizes.index(r)] % 8 == 0


def test_get_preset_returns_a_deep_copy():
    p = get_preset("sagan32")
    assert p == PRESETS["sagan32"]
    p["generator"]["channels"].append(1)
    p["discriminator"]["attention_resolutions"].clear()
    assert PRESETS["sagan32"]["generator"]["channels"] == [256] * 3
    assert PRESETS["sagan32"]["discriminator"]["attention_resolutions"] == [16]


def test_get_preset_accepts_and_copies_a_dict():
    custom = {"resolution": 8, "generator": {"channels": [8]}}
    p = get_preset(custom)
    assert p == custom and p is not custom
    p["generator"]["channels"].append(4)
    assert custom["generator"]["channels"] == [8]


@pytest.mark.parametrize("name", ["sagan16", "SAGAN32", "", None])
def test_unknown_preset(name):
    with pytest.raises(ValueError, match="Unknown preset.*Available"):
        get_preset(name)


def test_network_settings_defaults_from_the_paper():
    g = network_settings("sagan128", "generator", {})
    d = network_settings("sagan128", "discriminator", {})
    # SPEC: keys/values pooled by default, one power iteration, BN momentum 0.9 and
    # epsilon 1e-5 as the authors' code.
    assert g["pool_keys"] is True and d["pool_keys"] is True
    assert g["power_iterations"] == 1 == d["power_iterations"]
    assert g["bn_momentum"] == 0.9 and g["bn_epsilon"] == 1e-5
    assert g["synchronized_bn"] is False
    assert g["resolution"] == 128 == d["resolution"]
    assert g["channels"] == PRESETS["sagan128"]["generator"]["channels"]
    assert "bn_momentum" not in d  # D has no batch norm


def test_network_settings_overrides_win_and_do_not_mutate_presets():
    s = network_settings("sagan32", "generator",
                         {"channels": [8, 8, 8], "pool_keys": False, "bn_momentum": 0.5})
    assert s["channels"] == [8, 8, 8] and s["pool_keys"] is False
    assert s["bn_momentum"] == 0.5 and s["latent_dim"] == 128
    assert PRESETS["sagan32"]["generator"]["channels"] == [256] * 3
    assert presets.GENERATOR_DEFAULTS["pool_keys"] is True


@pytest.mark.parametrize("network,key", [("generator", "depth"),
                                         ("generator", "downsample"),
                                         ("discriminator", "latent_dim"),
                                         ("discriminator", "bn_momentum")])
def test_unknown_override_key(network, key):
    with pytest.raises(ValueError, match=rf"Unknown {network} setting\(s\) \['{key}'\]"):
        network_settings("sagan32", network, {key: 1})


@pytest.mark.slow
def test_sagan256_builds_and_trains_a_step_at_reduced_width():
    """sagan256 at 1/16 of its widths: 256x256 images, attention at 64x64 in both
    networks by the memory-efficient path, one SAGAN step that moves G and D."""
    import keras
    import numpy as np
    import tensorflow as tf

    import sagan_tf
    from sagan_tf.sagan import SAGAN

    keras.utils.set_random_seed(0)
    p = PRESETS["sagan256"]
    g = sagan_tf.build_generator("sagan256", 3, channels=[
        c // 16 for c in p["generator"]["channels"]])
    d = sagan_tf.build_discriminator("sagan256", 3, channels=[
        c // 16 for c in p["discriminator"]["channels"]])
    assert tuple(g.output_shape) == (None, 256, 256, 3)
    for net in (g, d):
        (att,) = [la for la in net.layers if isinstance(la, sagan_tf.layers.SelfAttention)]
        assert tuple(att.input.shape[1:3]) == (64, 64)
        assert att.uses_chunked_path(64 * 64, 32 * 32)
        att.gamma.assign(0.3)  # the attention branch takes part in the gradients
    model = SAGAN(g, d, seed=0)
    model.compile(keras.optimizers.SGD(0.01), keras.optimizers.SGD(0.01))
    before = [w.numpy() for w in g.trainable_variables + d.trainable_variables]
    images = tf.random.uniform((2, 256, 256, 3), -1, 1, seed=1)
    logs = model.train_step((images, tf.constant([0, 2])))
    assert np.isfinite(float(logs["d_loss"])) and np.isfinite(float(logs["g_loss"]))
    after = g.trainable_variables + d.trainable_variables
    moved = [np.abs(w.numpy() - b).max() > 0 for w, b in zip(after, before)]
    assert sum(moved) > 0.9 * len(moved)
    gammas = [la.gamma for net in (g, d) for la in net.layers
              if isinstance(la, sagan_tf.layers.SelfAttention)]
    assert all(float(gm.numpy()) != 0.3 for gm in gammas)

import re

import pytest

from sagan_tf import presets
from sagan_tf.presets import PRESETS, get_preset, network_settings

CH = 64  # the paper's ch at 64 and 128 pixels


def test_every_preset_is_named_after_its_resolution():
    assert PRESETS and presets.DEFAULT_PRESET in PRESETS
    for name, preset in PRESETS.items():
        assert preset["resolution"] == int(re.match(r"sagan(\d+)", name).group(1))


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_training_settings_are_the_papers_unless_the_preset_sets_them(name):
    settings = presets.training_settings(name)
    assert set(settings) == set(presets.TRAINING_DEFAULTS)
    for key, value in settings.items():
        assert value == PRESETS[name].get("training", {}).get(key, presets.TRAINING_DEFAULTS[key])


def test_the_papers_training_defaults_are_ttur_without_mode_seeking():
    assert presets.TRAINING_DEFAULTS == {"g_lr": 1e-4, "d_lr": 4e-4, "mode_seeking": 0.0}


def test_an_unknown_training_setting_in_a_preset_is_refused():
    bad = {**PRESETS["sagan32"], "training": {"g_learning_rate": 1e-3}}
    with pytest.raises(ValueError, match=r"Unknown training setting.*g_learning_rate"):
        presets.training_settings(bad)


def test_sagan32_small_is_sagan32_with_32_channels_in_every_block():
    small, full = PRESETS["sagan32_small"], PRESETS["sagan32"]
    for net in ("generator", "discriminator"):
        assert small[net]["channels"] == [32] * len(full[net]["channels"])
        rest = {k: v for k, v in small[net].items() if k not in ("channels", "class_affine")}
        assert rest == {k: v for k, v in full[net].items() if k != "channels"}
    assert small["generator"]["class_affine"] == "sn_linear"

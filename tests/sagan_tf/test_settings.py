"""Flags generated from settings dataclasses (sagan_tf.settings)."""

import dataclasses

import pytest
from absl import flags

from sagan_tf import presets, settings
from sagan_tf.evaluation import EvalSettings
from sagan_tf.train_config import TrainConfig


def _parse(cls, *args, networks=False):
    values = flags.FlagValues()
    settings.define_flags(cls, values)
    if networks:
        settings.define_network_flags(values)
    values(["prog", *args])
    return values


def test_every_train_config_setting_has_a_flag_with_its_default_and_help():
    values = _parse(TrainConfig)
    for field in dataclasses.fields(TrainConfig):
        if not field.metadata["flag"]:  # from the data, the --g_/--d_ flags or the run
            assert field.name not in values
            continue
        assert values[field.name].default == field.default, field.name
        assert values[field.name].help.endswith(field.metadata["help"])  # enums: "<a|b>: "
    for name in ("beta1", "beta2", "ema_start_step"):  # had no flag before
        assert name in values


def test_only_given_flags_are_changes_and_zero_ema_decay_is_none():
    values = _parse(TrainConfig, "--steps=7", "--ema_decay=0", "--beta2=0.99",
                    "--strategy=mirrored")
    assert settings.flag_values(TrainConfig, values) == dict(
        steps=7, ema_decay=None, beta2=0.99, strategy="mirrored")
    with pytest.raises(flags.IllegalFlagValueError):
        _parse(TrainConfig, "--strategy=everywhere")


def test_network_flags_cover_every_setting_of_both_networks():
    values = _parse(TrainConfig, "--g_channels=8,8,8", "--d_downsample=true,false,0,1",
                    "--g_synchronized_bn", "--d_attention_resolutions=",
                    "--g_attention_query_chunk_size=64", networks=True)
    assert settings.network_flag_values(values) == {
        "generator_overrides": dict(channels=[8, 8, 8], synchronized_bn=True,
                                    attention_query_chunk_size=64),
        "discriminator_overrides": dict(downsample=[True, False, False, True],
                                        attention_resolutions=[])}
    for network, prefix in (("generator", "g_"), ("discriminator", "d_")):
        keys = set(presets.network_settings("sagan32", network, {})) - {"resolution"}
        assert {prefix + k for k in keys} <= set(values), network


def test_a_list_flag_that_does_not_parse_names_the_flag():
    values = _parse(TrainConfig, "--g_channels=8,eight", networks=True)
    with pytest.raises(ValueError, match="`--g_channels` takes comma-separated integers"):
        settings.network_flag_values(values)


def test_eval_settings_flags_round_trip():
    values = _parse(EvalSettings, "--num_samples=50", "--noprogress", "--classifier=domain")
    given = settings.flag_values(EvalSettings, values)
    assert EvalSettings(**given) == EvalSettings(num_samples=50, progress=False,
                                                 classifier="domain")

import json
import re

import pytest

from sagan_tf import presets
from sagan_tf.presets import PRESETS
from sagan_tf.run_dir import RunDir
from sagan_tf.models import build_model
from sagan_tf.train_config import RESUMABLE, TrainConfig, resume_config

TINY_G = dict(channels=[16, 16, 16])


def _saved(tmp_path, **changes):
    config = TrainConfig(model_dir=str(tmp_path), generator_overrides=TINY_G, batch_size=32,
                         num_classes=10, class_names=tuple("abcdefghij"), **changes)
    RunDir(tmp_path).save_config(config)
    return RunDir(tmp_path).load_config()


def test_new_run_is_the_changes_over_the_defaults(tmp_path):
    config = resume_config(None, dict(model_dir=str(tmp_path), steps=7,
                                      discriminator_overrides=dict(attention_resolutions=[])))
    assert config == TrainConfig(model_dir=str(tmp_path), steps=7,
                                 discriminator_overrides=dict(attention_resolutions=[]))
    assert config.batch_size == 64 and config.preset == "sagan32"


def test_saved_config_round_trips_through_json(tmp_path):
    saved = _saved(tmp_path, ema_decay=None, d_steps=2)
    assert saved == TrainConfig(model_dir=str(tmp_path), generator_overrides=TINY_G,
                                batch_size=32, num_classes=10,
                                class_names=tuple("abcdefghij"), ema_decay=None, d_steps=2)
    assert isinstance(saved.class_names, tuple)
    assert json.loads((tmp_path / "config.json").read_text())["generator_overrides"] == {
        "channels": [16, 16, 16]}
    assert RunDir(tmp_path / "nothing").load_config_if_exists() is None


def test_resume_keeps_saved_settings_and_applies_resumable_changes(tmp_path):
    saved = _saved(tmp_path)
    moved = str(tmp_path / "moved")
    config = resume_config(saved, dict(model_dir=moved, steps=5000, strategy="mirrored",
                                       checkpoint_every=7, batch_size=32))
    assert (config.steps, config.strategy, config.checkpoint_every, config.model_dir) == (
        5000, "mirrored", 7, moved)
    # Everything else, including what the data filled in, is the saved run's.
    assert config.replace(steps=saved.steps, strategy=saved.strategy,
                          checkpoint_every=saved.checkpoint_every, model_dir=saved.model_dir
                          ) == saved


def test_resume_conflicts_name_every_setting_with_both_values(tmp_path):
    saved = _saved(tmp_path)
    with pytest.raises(ValueError) as info:
        resume_config(saved, dict(model_dir=str(tmp_path), batch_size=64, beta2=0.5, steps=9,
                                  generator_overrides=dict(channels=[32, 32, 32])))
    message = str(info.value)
    assert "batch_size: saved 32, requested 64" in message
    assert "beta2: saved 0.9, requested 0.5" in message
    assert "generator channels: saved [16, 16, 16], requested [32, 32, 32]" in message
    assert "steps" not in message.split("Only")[0]  # resumable: not a conflict
    assert "another --model_dir" in message


def test_overrides_are_compared_as_effective_settings(tmp_path):
    """The saved run has the preset's attention (16) and no override: asking for
    attention at 16 is the same model, asking for none is not."""
    saved = _saved(tmp_path)
    same = dict(attention_resolutions=[16], channels=(16, 16, 16))
    assert resume_config(saved, dict(model_dir=str(tmp_path), generator_overrides=same)
                         ) == saved
    with pytest.raises(ValueError, match=r"discriminator attention_resolutions: saved \[16\], "
                                         r"requested \[\]"):
        resume_config(saved, dict(model_dir=str(tmp_path),
                                  discriminator_overrides=dict(attention_resolutions=[])))


def test_only_run_independent_settings_are_resumable():
    # The model, the data stream and the noise must not change under a resumed run.
    # The learning rates may (to resume the last good checkpoint of a diverged run).
    # XLA draws other training noise (see test_sagan_jit_compile).
    defining = {"preset", "batch_size", "d_steps", "grad_accum", "jit_compile", "beta1",
                "beta2", "ema_decay", "seed", "dataset", "random_flip", "mixed_precision"}
    assert not defining & RESUMABLE
    assert {"g_lr", "d_lr"} <= RESUMABLE


@pytest.mark.parametrize("changes,match", [
    (dict(preset="sagan48"), r"Unknown preset.*sagan48.*" + re.escape(str(sorted(PRESETS)))),
    (dict(generator_overrides=dict(image_channels=1)),
     r"`g_image_channels` and `d_image_channels` must be equal.*g_image_channels=1, "
     r"d_image_channels=3"),
    (dict(generator_overrides=dict(chanels=[8])), r"Unknown generator setting.*chanels"),
    (dict(batch_size=0), "batch_size"),
    (dict(strategy="tpu"), "strategy"),
    (dict(d_steps=16), "at most 15"),
    (dict(ema_decay=1.0), "ema_decay"),
    (dict(mode_seeking=-1.0), r"`mode_seeking` must be a finite number >= 0. Received: mode_seeking=-1.0"),
    (dict(mode_seeking=float("inf")), r"mode_seeking=inf"),
])
def test_invalid_settings_are_rejected_with_the_setting_named(changes, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(model_dir="x", **changes)


@pytest.mark.parametrize("changes, match", [
    ({"train_fraction": 0.0}, r"`train_fraction` must be in \(0, 1\]"),
    ({"train_fraction": 0.5, "dataset": "photos/"}, r"applies to the 'digits' dataset only"),
    ({"diffaugment": "color,zoom"}, r"`diffaugment` must name policies"),
])
def test_train_fraction_and_diffaugment_are_checked(changes, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(model_dir="ram://x", **changes)


def test_build_model_passes_the_diffaugment_policy():
    model = build_model(TrainConfig(model_dir="ram://x", diffaugment="cutout,color",
                                    num_classes=3, generator_overrides={"channels": [8, 8, 8]},
                                    discriminator_overrides={"channels": [8, 8, 8, 8]}))
    assert model.augment.policy == ("color", "cutout") and not model.augment.cutout_inside


def test_unconditional_configs_have_no_classes_and_build_networks_without_labels(tmp_path):
    config = TrainConfig(model_dir=str(tmp_path), unconditional=True,
                         generator_overrides=dict(channels=[8, 8, 8]),
                         discriminator_overrides=dict(channels=[8, 8, 8, 8]))
    assert not config.conditional
    assert TrainConfig.from_json(config.to_json()) == config
    model = build_model(config)
    assert not model.conditional and [t.name for t in model.generator.inputs] == ["z"]
    with pytest.raises(ValueError, match="An unconditional config has no classes"):
        config.replace(num_classes=10)


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_unset_training_settings_take_the_presets_and_a_given_one_wins(preset, tmp_path):
    expected = presets.training_settings(preset)
    config = TrainConfig(model_dir=str(tmp_path), preset=preset)
    assert {k: getattr(config, k) for k in expected} == expected
    given = TrainConfig(model_dir=str(tmp_path), preset=preset, g_lr=5e-5, mode_seeking=0.0)
    assert given.g_lr == 5e-5 and given.mode_seeking == 0.0
    # The saved config holds the values the run used, so a resume does not depend on
    # the preset's defaults of a later version.
    again = TrainConfig.from_json(config.to_json())
    assert {k: getattr(again, k) for k in expected} == expected
    assert json.loads(config.to_json())["g_lr"] == expected["g_lr"]

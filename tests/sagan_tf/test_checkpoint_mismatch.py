"""A hand-edited config.json whose model does not fit the run's checkpoints: the
healthy checkpoints are refused by name with the setting that disagrees, and nothing
is moved (only a checkpoint that cannot be read is set aside as damaged)."""

import os

import pytest

from sagan_tf.checkpoints import CheckpointError, CheckpointWriter
from sagan_tf.run_dir import RunDir

# edit of config.json -> (the base config's changes, the edit, (the setting the message
# names, its edited value))
EDITS = {
    "generator channels": ({}, dict(generator_overrides=dict(channels=[32, 16, 16])),
                           ("generator channels", "[32, 16, 16]")),
    "discriminator channels": ({}, dict(discriminator_overrides=dict(channels=[16, 16, 16, 8])),
                               ("discriminator channels", "[16, 16, 16, 8]")),
    "latent_dim": ({}, dict(generator_overrides=dict(channels=[16, 16, 16], latent_dim=64)),
                   ("latent_dim", "64")),
    "num_classes": ({}, dict(num_classes=9, class_names=tuple("abcdefghi")),
                    ("num_classes", "9")),
    "ema_decay": (dict(ema_decay=None), dict(ema_decay=0.999), ("ema_decay", "0.999")),
}
# Each case builds and checkpoints a model twice (about 70 s here): one runs by default.
FAST = "generator channels"


def _files(root):
    return sorted(os.path.relpath(os.path.join(d, f), root)
                  for d, _, files in os.walk(root) for f in files)


@pytest.mark.parametrize("edit", [e if e == FAST else pytest.param(e, marks=pytest.mark.slow)
                                  for e in sorted(EDITS)])
def test_a_hand_edited_config_refuses_healthy_checkpoints_and_moves_nothing(tiny, tmp_path,
                                                                            edit):
    base, changes, expected = EDITS[edit]
    config = tiny.config(tmp_path, **base)
    run = RunDir(str(tmp_path))
    run.save_config(config)
    model = tiny.model(config)
    writer = CheckpointWriter(model, str(tmp_path), max_to_keep=5)
    for step in (2, 4):
        model.g_optimizer.iterations.assign(step)
        writer.save()
    before = _files(tmp_path)

    edited = config.replace(**changes)
    run.save_config(edited)  # the hand edit
    with pytest.raises(CheckpointError) as raised:
        CheckpointWriter(tiny.model(edited), str(tmp_path), 5).restore_latest()
    message = str(raised.value)
    assert "ckpt-4 is readable but holds another model" in message
    setting, value = expected
    assert f"Its {setting} disagrees with the checkpoint" in message, message
    assert f"config.json gives {setting}={value})" in message, message
    assert "Nothing was moved" in message and "Undo the edit" in message
    assert _files(tmp_path) == before  # no checkpoint set aside, none lost

    run.save_config(config)  # the edit undone: the run resumes where it was
    assert CheckpointWriter(tiny.model(config), str(tmp_path), 5).restore_latest() == 4

"""sagan_tf.run_dir: the layout and config of a run directory."""

import uuid

import pytest

from sagan_tf import storage
from sagan_tf.run_dir import RunDir
from sagan_tf.train_config import TrainConfig
from tiny_models import TINY


def _config(model_dir, **changes):
    return TrainConfig(model_dir=str(model_dir), num_classes=10,
                       class_names=tuple("0123456789"), **{**TINY, **changes})


@pytest.mark.parametrize("where", ["local", "ram"])
def test_config_round_trips_through_the_run_directory(tmp_path, where):
    model_dir = str(tmp_path) if where == "local" else f"ram://{uuid.uuid4().hex}/run"
    run = RunDir(model_dir)
    assert run.load_config_if_exists() is None
    config = _config(model_dir, ema_decay=None, d_steps=2)
    run.save_config(config)
    assert run.load_config() == config
    assert storage.read_json(run.config_file)["generator_overrides"] == TINY[
        "generator_overrides"]


def test_missing_config_names_the_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="No config.json in model_dir"):
        RunDir(tmp_path / "nothing").load_config()


@pytest.mark.parametrize("text", ['{"batch_size": "eight", ', '{"batch_size": "eight"}'])
def test_a_hand_edited_config_is_refused_with_what_to_do(tmp_path, text):
    """Truncated JSON and a field of the wrong type: one ValueError that names the file and
    says how to recover (sagan-train prints it as its one-line error)."""
    (tmp_path / "config.json").write_text(text)
    with pytest.raises(ValueError) as caught:
        RunDir(tmp_path).load_config()
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'config.json'} is not a valid sagan-train config")
    assert "Undo the edit" in message and "another --model_dir" in message
    assert "\n" not in message

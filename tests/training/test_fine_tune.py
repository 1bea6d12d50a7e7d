"""sagan-train --init_from, end to end in subprocesses: a new run from a trained one,
FreezeD, the config's record of the source, and the refusals in one line."""

import os
import subprocess

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.run_dir import RunDir
from sagan_tf.models import build_model

TINY = ["--dataset=digits", "--g_channels=16,16,16", "--d_channels=16,16,16,16",
        "--batch_size=8", "--sample_every=1000", "--log_every=1"]
pytestmark = pytest.mark.slow  # each sagan-train start costs tens of seconds on a shared CPU


def _train(model_dir, *flags, timeout=400):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    proc = subprocess.run(["sagan-train", f"--model_dir={model_dir}", *TINY, *flags],
                          capture_output=True, text=True, env=env, timeout=timeout)
    return proc.returncode, proc.stderr


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A 10-class source run of 2 steps (its checkpoint ckpt-2)."""
    model_dir = str(tmp_path_factory.mktemp("fine_tune") / "source")
    code, err = _train(model_dir, "--steps=2")
    assert code == 0, err[-3000:]
    return model_dir


def _networks(model_dir, checkpoint):
    """G, D and EMA G of a run's checkpoint, restored into networks built from its config
    (the library's restore, not the trainer's)."""
    model = build_model(RunDir(model_dir).load_config())
    tf.train.Checkpoint(generator=model.generator, discriminator=model.discriminator,
                        ema_generator=model.ema_generator).restore(checkpoint).expect_partial()
    return {net.name: {w.path: w.numpy() for w in net.trainable_weights}
            for net in (model.generator, model.discriminator)}


def test_a_fine_tuning_run_starts_from_the_sources_weights(source, tmp_path):
    model_dir = str(tmp_path / "fine_tuned")
    code, err = _train(model_dir, f"--init_from={source}", "--steps=1", "--freeze_d_blocks=2")
    assert code == 0, err[-3000:]
    source_checkpoint = os.path.join(source, "checkpoints", "ckpt-2")
    assert f"Started from the weights of {source_checkpoint} (fresh optimizers)" in err
    assert "FreezeD: D's block1, attention16, block2 do not train." in err
    config = RunDir(model_dir).load_config()
    assert config.init_from == source and config.init_from_checkpoint == source_checkpoint
    assert config.freeze_d_blocks == 2
    assert [os.path.basename(p) for p in RunDir(model_dir).checkpoints_on_disk()] == ["ckpt-1"]
    assert [os.path.basename(p) for p in RunDir(source).checkpoints_on_disk()] == ["ckpt-2"]

    before = _networks(source, source_checkpoint)
    after = _networks(model_dir, RunDir(model_dir).latest_checkpoint())
    # One Adam step with beta_1 = 0, beta_2 = 0.9 from the source's weights moves each
    # weight by lr sqrt(0.1) |g| / (sqrt(0.1) |g| + eps) <= lr: the run started from them
    # (a fresh initialisation would be ~0.1 away), and it did train. The class tables
    # get a gather's sparse gradient, one slice per example: Keras' Adam adds up the
    # slices of a repeated label in m and their squares in v, so a row moves by up to
    # lr sqrt(its count in the batch) <= lr sqrt(batch_size) (measured: 1.41 lr).
    for network, lr in (("generator", config.g_lr), ("discriminator", config.d_lr)):
        moved = {p: np.abs(after[network][p] - v).max() for p, v in before[network].items()}
        for path, distance in moved.items():
            bound = lr * (np.sqrt(config.batch_size) if "cbn_" in path or "embed" in path
                          else 1.0)
            assert distance <= bound * (1 + 1e-3), (network, path, distance)
        trained = {p for p, d in moved.items() if d > 0}
        if network == "generator":
            assert len(trained) > len(moved) // 2
        else:  # FreezeD: the first two blocks and the attention between them stay put
            frozen = {p for p in moved if p.split("/")[0] in ("block1", "attention16",
                                                            "block2")}
            assert frozen and not trained & frozen
            assert {p.split("/")[0] for p in trained} >= {"block3", "block4", "projection"}


@pytest.mark.parametrize("flags,message", [
    (["--unconditional"], "is a class-conditional run (10 classes) and this run is "
                          "unconditional"),
    (["--g_channels=32,32,32"], "generator channels: source [16, 16, 16], this run "
                                "[32, 32, 32]"),
])
def test_a_source_that_cannot_start_the_run_is_refused_in_one_line(source, tmp_path, flags,
                                                                  message):
    code, err = _train(str(tmp_path / "run"), f"--init_from={source}", "--steps=1", *flags)
    assert code == 1
    line = err.strip().splitlines()[-1]
    assert line.startswith("sagan-train: error: ") and message in line, err[-2000:]
    assert "Traceback" not in err
    assert not os.path.exists(tmp_path / "run" / "checkpoints" / "ckpt-1.index")

"""sagan-train end to end, in subprocesses: resume after SIGKILL, clear errors, and
MultiWorkerMirroredStrategy with two worker processes on 127.0.0.1."""

import json
import os
import signal
import socket
import subprocess
import time

import numpy as np
import pytest
import tensorflow as tf

from local_ports import free_ports
from sagan_tf.callbacks.loss_csv_logger import read_losses
from sagan_tf.presets import PRESETS
from sagan_tf.run_dir import RunDir
from sagan_tf.train_config import TrainConfig
from sagan_tf.summaries import read_events

TINY = ["--dataset=digits", "--g_channels=16,16,16", "--d_channels=16,16,16,16",
        "--batch_size=8", "--sample_every=1000", "--log_every=1"]


def _env(**extra):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow")
    env.update(extra)
    return env


def _start(model_dir, *flags, **env):
    return subprocess.Popen(["sagan-train", f"--model_dir={model_dir}", *TINY, *flags],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=_env(**env))


def _finish(proc, timeout=400):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, out, err


def _checkpoint_steps(model_dir):
    """The steps of the complete checkpoints: those the state file lists (a checkpoint
    whose files are written but not yet listed would not be restored)."""
    state = tf.train.get_checkpoint_state(os.path.join(model_dir, "checkpoints"))
    if state is None:
        return []
    return sorted(int(p.rsplit("-", 1)[1]) for p in state.all_model_checkpoint_paths)


def _outputs(model_dir):
    generator, config, _ = RunDir(model_dir).load_generator(use_ema=True)
    z = tf.random.stateless_normal([10, 128], seed=[3, 4])
    return np.asarray(generator([z, tf.range(10)], training=False)), config


# Three sagan-train processes (95 s): slow. In the default run test_checkpoints restores the
# whole training state and test_stop_on_signal saves it on a signal.
@pytest.mark.slow
def test_killed_run_resumes_with_the_losses_of_an_uninterrupted_run(tmp_path):
    steps, flags = 14, ["--steps=14", "--checkpoint_every=4", "--deterministic"]
    reference = _start(tmp_path / "reference", *flags)
    killed_dir = str(tmp_path / "killed")
    killed = _start(killed_dir, *flags)
    deadline = time.time() + 300
    while not _checkpoint_steps(killed_dir) and time.time() < deadline:
        time.sleep(0.01)
    killed.send_signal(signal.SIGKILL)  # no handler, no final save
    assert _finish(killed)[0] == -signal.SIGKILL
    saved = _checkpoint_steps(killed_dir)
    assert saved and saved[-1] < steps, saved  # killed between checkpoints, mid-run
    code, _, err = _finish(reference)
    assert code == 0, err[-3000:]

    code, _, err = _finish(_start(killed_dir, "--steps=14"))  # the saved flags apply
    assert code == 0, err[-3000:]
    assert f"resumed at step {saved[-1]}" in err
    ref, resumed = (read_losses(str(tmp_path / d / "losses.csv"))
                    for d in ("reference", "killed"))
    assert resumed["step"] == ref["step"] == list(range(1, steps + 1))
    for column in ("d_loss", "g_loss", "d_real", "d_fake"):
        # The same numbers: same initial weights, data order, noise and (deterministic) ops.
        np.testing.assert_allclose(resumed[column], ref[column], rtol=1e-6, err_msg=column)
    assert len(set(ref["d_loss"])) == steps  # the losses do change from step to step

    # A resume with fewer --steps than done trains nothing and keeps the saved config.
    saved = (tmp_path / "reference" / "config.json").read_text()
    code, _, err = _finish(_start(tmp_path / "reference", "--steps=5"))
    assert code == 0 and "nothing to train" in err, err[-2000:]
    assert (tmp_path / "reference" / "config.json").read_text() == saved
    assert not (tmp_path / "reference" / ".lock").exists()  # released at the end
    images, config = _outputs(killed_dir)
    ref_images, ref_config = _outputs(str(tmp_path / "reference"))
    np.testing.assert_allclose(images, ref_images, atol=1e-6)
    assert config == ref_config.replace(model_dir=config.model_dir)
    assert config.num_classes == 10 and config.class_names == tuple("0123456789")


def _run(tmp_path, *flags, config=None):
    model_dir = tmp_path / "run"
    if config:
        RunDir(model_dir).save_config(config.replace(model_dir=str(model_dir)))
    proc = _start(model_dir, *flags)
    return proc


# Each case is a sagan-train process (about 9 s of CPU, most of it importing TensorFlow), so
# all are slow: the messages are checked in-process by test_strategy, test_train_config and
# test_generator (the preset's by absl's enum flag), and the default run checks the program's
# one-line exit with the faults below.
@pytest.mark.parametrize("flags,saved,messages", [
    pytest.param(["--strategy=mirrored", "--num_cpu_devices=2", "--batch_size=7"], None,
                 ["--batch_size=7 is the global batch", "2 replicas",
                  "--batch_size=6 or --batch_size=8"], marks=pytest.mark.slow),
    pytest.param(["--preset=sagan48"], None,  # the flag's enum check
                 ["--preset=sagan48", f"one of <{'|'.join(sorted(PRESETS))}>"],
                 marks=pytest.mark.slow),
    pytest.param(["--batch_size=16", "--attention="], dict(batch_size=8),
                 ["batch_size: saved 8, requested 16", "generator attention_resolutions: "
                  "saved [16], requested []", "another --model_dir"], marks=pytest.mark.slow),
    pytest.param(["--g_channels=16,16"], None,
                 ["generator's blocks must reach", "resolution 32"], marks=pytest.mark.slow),
])
def test_settings_that_cannot_work_exit_with_a_clear_message(tmp_path, flags, saved,
                                                             messages):
    if saved:
        RunDir(tmp_path / "run").save_config(TrainConfig(
            model_dir=str(tmp_path / "run"), num_classes=10,
            class_names=tuple("0123456789"), **saved))
    code, _, err = _finish(_start(tmp_path / "run", *flags), timeout=120)
    assert code == 1
    for message in messages:
        assert message in err, err[-2000:]
    assert "Traceback" not in err
    assert "USAGE" not in err  # no flag-help dump burying the message
    assert not os.path.exists(tmp_path / "run" / "checkpoints")


def _error_line(err):
    """The program's error: the last line, which must be the whole message."""
    line = err.strip().splitlines()[-1]
    assert line.startswith("sagan-train: error: "), err[-2000:]
    assert "Traceback" not in err and "USAGE" not in err
    return line


@pytest.mark.parametrize("fault", [
    "model_dir_is_a_file",  # no in-process twin: stays default
    pytest.param("model_dir_under_a_file", marks=pytest.mark.slow),
    pytest.param("garbled_config", marks=pytest.mark.slow),  # test_run_dir: in-process
    pytest.param("held_lock", marks=pytest.mark.slow),  # test_run_lock refuses it in-process
    "missing_classifier",
    pytest.param("unparsable_flag", marks=pytest.mark.slow)])
def test_faults_a_user_can_fix_are_one_line_before_any_work(tmp_path, fault):
    run = tmp_path / "run"
    flags, env = [], {}
    if fault == "model_dir_is_a_file":
        run.write_text("not a directory")
        expected = ["is a file, not a directory"]
    elif fault == "model_dir_under_a_file":
        (tmp_path / "file").write_text("x")
        run = tmp_path / "file" / "run"
        expected = ["cannot create the directory"]
    elif fault == "garbled_config":
        run.mkdir()
        (run / "config.json").write_text('{"batch_size": "eight", ')
        expected = ["config.json is not a valid sagan-train config", "Undo the edit"]
    elif fault == "held_lock":  # this test process, alive, holds the run
        run.mkdir()
        (run / ".lock").write_text(json.dumps(dict(
            host=socket.gethostname(), pid=os.getpid(), program="sagan-train",
            started="today", token="other")))
        expected = [f"pid {os.getpid()} on host {socket.gethostname()}", "--break_lock"]
    elif fault == "unparsable_flag":
        flags = ["--batch_size=eight"]
        expected = ["flag --batch_size=eight"]
    else:
        flags = ["--eval_every=2", "--eval_classifier=inception"]
        env = dict(TFHUB_CACHE_DIR=str(tmp_path / "empty_cache"), SAGAN_OFFLINE="1")
        expected = ["Classifier not found", "--classifier=inception"]
    code, _, err = _finish(_start(run, "--steps=2", *flags, **env), timeout=120)
    assert code == 1
    line = _error_line(err)
    for text in expected:
        assert text in line, line
    if run.is_dir():
        assert not (run / "checkpoints").exists()  # refused before training



@pytest.mark.slow
def test_two_workers_train_together_and_only_the_chief_writes(tmp_path):
    """MultiWorkerMirroredStrategy with two worker processes (one replica each, G's BN
    synchronized) against one device with the same global batch of 8."""
    flags = ["--strategy=multi_worker", "--steps=3", "--checkpoint_every=2",
             "--synchronized_bn", "--sample_every=3"]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in free_ports(2)]}
    model_dir = str(tmp_path / "run")
    temps = [tmp_path / f"tmp{i}" for i in range(2)]
    workers = []
    for i, temp in enumerate(temps):
        temp.mkdir()
        tf_config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}})
        workers.append(_start(model_dir, *flags, TF_CONFIG=tf_config, TMPDIR=str(temp)))
    single = _start(tmp_path / "single", "--steps=3", "--synchronized_bn")
    results = [_finish(w, timeout=900) for w in workers]
    for code, _, err in results:
        assert code == 0, err[-3000:]
    assert _finish(single)[0] == 0

    assert _checkpoint_steps(model_dir) == [2, 3]
    assert sorted(os.listdir(model_dir)) == ["checkpoints", "config.json", "logs",
                                             "losses.csv", "samples"]
    assert os.listdir(os.path.join(model_dir, "logs")) == ["train"]  # TensorBoard's run
    assert len(os.listdir(os.path.join(model_dir, "logs", "train"))) == 1  # the chief's only
    assert sorted(os.listdir(os.path.join(model_dir, "samples")))[-1] == "step_00000003.png"
    for temp in temps:  # the non-chief's checkpoints went to its temp dir, now deleted
        assert [f for f in os.listdir(temp) if f.startswith("sagan-worker")] == []
    assert "MultiWorkerMirroredStrategy with 2 replica(s)" in results[0][2]
    assert "(this process: worker 1)" in results[1][2]
    events = read_events(os.path.join(model_dir, "logs", "train"))
    assert [s for s, _ in events["losses/g_loss"]] == [1, 2, 3]

    two, one = (read_losses(os.path.join(d, "losses.csv"))
                for d in (model_dir, str(tmp_path / "single")))
    for column in ("d_loss", "g_loss", "d_real", "d_fake"):
        np.testing.assert_allclose(two[column], one[column], rtol=1e-3, atol=1e-3,
                                   err_msg=column)


@pytest.mark.slow  # tests/test_program_help.py checks every program's --help
def test_help_lists_the_programs_flags():
    out = subprocess.run(["sagan-train", "--helpshort"], capture_output=True, text=True,
                         env=_env(), timeout=120).stdout
    for name in ("dataset", "data_dir", "preset", "batch_size", "steps", "d_steps", "g_lr",
                 "d_lr", "ema_decay", "model_dir", "strategy", "num_cpu_devices",
                 "mixed_precision", "seed", "checkpoint_every", "keep_checkpoints",
                 "sample_every", "g_channels", "d_channels", "attention", "random_flip"):
        assert f"--{name}:" in out or f"--[no]{name}:" in out, name
    assert "<default|mirrored|multi_worker>" in out

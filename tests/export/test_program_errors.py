"""sagan-export and sagan-sample: faults a user can fix end in one line, no traceback,
no flag-help dump, and nothing half-written."""

import os
import shutil
import subprocess

import pytest
import tensorflow as tf

from programs import subprocess_env


def _run(*args):
    proc = subprocess.run(list(args), capture_output=True, text=True, env=subprocess_env(),
                          timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert "Traceback" not in proc.stderr and "USAGE" not in proc.stderr
    return proc.stderr.strip().splitlines()[-1]


@pytest.fixture
def damaged_run(model_dir, tmp_path):
    """A copy of the run whose newest checkpoint has a truncated data file, and an
    older one that restores."""
    run = tmp_path / "run"
    shutil.copytree(model_dir, run)
    checkpoints = run / "checkpoints"
    older = tf.train.latest_checkpoint(str(checkpoints))
    for suffix in (".index", ".data-00000-of-00001"):
        shutil.copy(older + suffix, str(checkpoints / f"ckpt-99{suffix}"))
    data = checkpoints / "ckpt-99.data-00000-of-00001"
    with open(data, "r+b") as f:
        f.truncate(os.path.getsize(data) // 2)
    return str(run), older.replace(model_dir, str(run))


def test_export_of_a_damaged_newest_checkpoint_names_it_and_the_one_that_works(
        damaged_run, tmp_path):
    run, older = damaged_run
    base = tmp_path / "serving"
    line = _run("sagan-export", f"--model_dir={run}", f"--export_base={base}")
    assert line.startswith("sagan-export: error: Checkpoint ") and "ckpt-99" in line
    assert f"--checkpoint={older}" in line
    assert not base.exists() or os.listdir(base) == []


@pytest.mark.slow  # the same RunDir path as sagan-export's, through another program
def test_sample_of_a_damaged_newest_checkpoint_is_refused_by_name(damaged_run, tmp_path):
    run, _ = damaged_run
    line = _run("sagan-sample", f"--model_dir={run}", f"--output={tmp_path / 'g.png'}")
    assert line.startswith("sagan-sample: error: Checkpoint ") and "ckpt-99" in line
    assert not (tmp_path / "g.png").exists()


def test_outputs_that_are_not_writable_are_refused_before_any_work(model_dir, tmp_path):
    (tmp_path / "a_file").write_text("x")
    line = _run("sagan-export", f"--model_dir={model_dir}",
                f"--export_base={tmp_path / 'a_file'}")
    assert line == (f"sagan-export: error: `--export_base={tmp_path / 'a_file'}` is a "
                    "file, not a directory: pass a directory (it is created if needed).")


@pytest.mark.slow  # three sagan-sample starts (30 s); sagan-export's refusal above is default
def test_sample_outputs_that_are_not_writable_are_refused(model_dir, tmp_path):
    (tmp_path / "a_file").write_text("x")
    line = _run("sagan-sample", f"--model_dir={model_dir}", f"--output={tmp_path}")
    assert line == f"sagan-sample: error: `--output={tmp_path}` is a directory: pass a file name."
    line = _run("sagan-sample", f"--model_dir={model_dir}",
                f"--output={tmp_path / 'a_file' / 'g.png'}")
    assert "its directory" in line and "is a file, not a directory" in line
    line = _run("sagan-sample", f"--model_dir={model_dir}", "--interpolate=3,x",
                f"--output={tmp_path / 'g.png'}")
    assert "--interpolate takes two integer seeds" in line

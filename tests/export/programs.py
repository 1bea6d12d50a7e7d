"""Running the project's programs and tools in subprocesses, for the export tests."""

import os
import subprocess

import pytest


def subprocess_env():
    """The environment of the subprocesses: quiet TF, one thread pool per process."""
    env = dict(os.environ)
    env.update(TF_CPP_MIN_LOG_LEVEL="2", KERAS_BACKEND="tensorflow",
               TF_NUM_INTEROP_THREADS="1")
    return env


def run_program(args, timeout=300):
    """Runs a command; fails the test with its output if it does not exit 0."""
    proc = subprocess.run(args, capture_output=True, text=True, env=subprocess_env(),
                          timeout=timeout)
    if proc.returncode:
        pytest.fail(f"{args} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr[-4000:]}")
    return proc

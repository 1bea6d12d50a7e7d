"""training/__init__.py and export/__init__.py: what importing a program's package does."""

import os
import pathlib
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("package", ["training", pytest.param("export", marks=pytest.mark.slow)])
def test_a_console_scripts_requires_does_not_reach_pkg_resources(package, tmp_path):
    # What the console scripts of `pip install -e .` (setuptools' develop) do: define
    # __requires__ in __main__, then import the program. pkg_resources, imported later by
    # tensorflow_hub, would resolve it through every dependency's metadata.
    script = tmp_path / "script.py"
    script.write_text(f"__requires__ = 'sagan-tf'\nimport {package}\n"
                      "import __main__\nassert not hasattr(__main__, '__requires__')\n"
                      "import pkg_resources\nprint('imported')\n")
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=env, timeout=300)
    assert proc.returncode == 0 and "imported" in proc.stdout, proc.stderr[-2000:]

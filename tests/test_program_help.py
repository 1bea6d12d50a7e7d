"""`--help` of each console script (setup.py's entry points) lists the program's own
flags, with their help, and not absl's or TensorFlow's (those are under --helpfull)."""

import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

REPO = pathlib.Path(__file__).resolve().parents[1]

# In the child: the program imported as a console script imports it (sys.argv[0] is the
# script's name), the flags it defined (absl's record of which module defined which
# flag) written to stderr as JSON, then the program run with --help.
_CHILD = """
import json, sys
sys.argv = [{script!r}, "--help"]
from {module} import {function} as run
from absl import flags
own = {{name for module, defined in flags.FLAGS.flags_by_module_dict().items()
        if module in ({module!r}, "sagan_tf.settings") for name in
        [f.name for f in defined]}}
sys.stderr.write("OWN=" + json.dumps(sorted(own)) + "\\n")
sys.stderr.flush()
run()
"""


def console_scripts():
    """{script: "module:function"} from setup.py."""
    text = (REPO / "setup.py").read_text()
    return dict(re.findall(r'"([\w-]+)=([\w.]+:\w+)"', text))


def _params():
    """Every program; one by default (a TensorFlow import each), the others `slow`: they
    share `settings.run_program`, which registers the key flags."""
    scripts = sorted(console_scripts().items())
    assert scripts  # setup.py names the programs
    return [pytest.param(script, target, id=script,
                         marks=() if script == "sagan-export" else pytest.mark.slow)
            for script, target in scripts]


@pytest.mark.parametrize("script, target", _params())
def test_the_program_lists_its_own_flags_with_their_help(script, target):
    env = dict(os.environ, PYTHONPATH=str(REPO), TF_CPP_MIN_LOG_LEVEL="3",
               KERAS_BACKEND="tensorflow")
    module, function = target.split(":")
    code = _CHILD.format(script=script, module=module, function=function)
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, text=True,
                          capture_output=True, timeout=600, check=False)
    out, err = proc.stdout, proc.stderr
    assert "Try --helpfull" in out, err[-3000:]  # absl's --help exits with status 1
    own = json.loads(next(line[4:] for line in err.splitlines() if line.startswith("OWN=")))
    assert own
    for name in own:
        assert re.search(rf"--(\[no\])?{name}\b", out), (name, out[-2000:])
    assert "--logtostderr" not in out, "absl's flags belong to --helpfull"
    assert len(out.splitlines()) < 20 + 6 * len(own)

#!/usr/bin/env bash
# GPU check: on a machine with a GPU, runs the tests whose kernels differ on a GPU
# and bench/train_step.py --device=gpu in float32 and mixed_bfloat16, without and with
# --jit_compile (XLA), then prints ONE JSON line with the figures:
#
#   bash bench/gpu_check.sh            (from anywhere; about 5 minutes on one GPU)
#
#   {"gpu": ..., "tensorflow": ..., "tests": {"exit_code", "summary", "files"},
#    "train_step": {"float32": {...}, "mixed_bfloat16": {...}},
#    "train_step_jit_compile": {...}, "ok": true|false}
#
# The train_step entries are bench/train_step.py's JSON (s_per_iter, img_per_s,
# fraction_of_peak, ...). Exit status: 0 when the tests and both benchmarks passed,
# 1 otherwise, 2 when TensorFlow sees no GPU (nothing is run then). Logs stay in the
# directory printed on stderr. Install: pip install "tensorflow[and-cuda]==2.21.0"
# then the requirements (pip install -r requirements.txt).
set -u
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
export TF_CPP_MIN_LOG_LEVEL=2
PYTHON=${PYTHON:-python}

# Small and GPU-relevant: attention, sub-pixel and strided convolutions, their kernel
# gradients, fused and conditional batch norms, the training step eager and compiled.
TESTS=(
  tests/sagan_tf/layers/test_self_attention.py
  tests/sagan_tf/layers/test_subpixel_conv.py
  tests/sagan_tf/layers/test_spectral_conv2d.py
  tests/sagan_tf/layers/test_custom_kernel_gradient.py
  tests/sagan_tf/layers/test_batch_norm.py
  tests/sagan_tf/layers/test_conditional_batch_norm.py
  tests/sagan_tf/test_sagan.py
  tests/sagan_tf/test_sagan_jit_compile.py
)

gpu=$("$PYTHON" -c '
import tensorflow as tf
gpus = tf.config.list_physical_devices("GPU")
if gpus:
    print(tf.config.experimental.get_device_details(gpus[0]).get("device_name", gpus[0].name))
' 2>/dev/null)
if [ -z "$gpu" ]; then
  echo "gpu_check: error: TensorFlow sees no GPU (tf.config.list_physical_devices('GPU')" \
       "is empty): nothing run. On a machine with an NVIDIA GPU and its driver, run" \
       "pip install \"tensorflow[and-cuda]==2.21.0\" and check nvidia-smi." >&2
  exit 2
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/gpu_check.XXXXXX")
echo "gpu_check: $gpu; logs in $logs" >&2
timeout 1200 "$PYTHON" -m pytest -q "${TESTS[@]}" >"$logs/tests.txt" 2>&1
tests_rc=$?
timeout 900 "$PYTHON" bench/train_step.py --device=gpu --policies=float32,mixed_bfloat16 \
  >"$logs/train_step.txt" 2>&1
step_rc=$?
timeout 900 "$PYTHON" bench/train_step.py --device=gpu --policies=float32,mixed_bfloat16 \
  --jit_compile >"$logs/train_step_jit.txt" 2>&1
jit_rc=$?

"$PYTHON" - "$gpu" "$logs" "$tests_rc" "$step_rc" "$jit_rc" "${TESTS[@]}" <<'EOF'
import json
import sys

import tensorflow as tf

gpu, logs, tests_rc, step_rc, jit_rc = sys.argv[1:6]


def last_json(name, rc):
    """bench/train_step.py's last line (its JSON), or what went wrong."""
    lines = open(f"{logs}/{name}").read().strip().splitlines() or [""]
    try:
        return json.loads(lines[-1])
    except ValueError:
        return {"error": f"exit {rc}: {lines[-1][-300:]}"}


test_lines = open(f"{logs}/tests.txt").read().strip().splitlines() or [""]
result = {
    "gpu": gpu, "tensorflow": tf.__version__,
    "tests": {"exit_code": int(tests_rc), "summary": test_lines[-1],
              "files": sys.argv[6:]},
    "train_step": last_json("train_step.txt", step_rc),
    "train_step_jit_compile": last_json("train_step_jit.txt", jit_rc),
    "ok": tests_rc == step_rc == jit_rc == "0",
}
print(json.dumps(result))
sys.exit(0 if result["ok"] else 1)
EOF

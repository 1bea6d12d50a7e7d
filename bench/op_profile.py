"""Profile: where a SAGAN training iteration spends its time, per TF op.

    python bench/op_profile.py [--policy=mixed_bfloat16] [--batch_size=64] [--iters=3]
                            [--width=0] [--top=25]

Runs `sagan32` with 10 classes as `bench/train_step.py` does, records `--iters`
iterations with the TensorFlow profiler (`tf.profiler.experimental`, the trace the
TensorBoard profiler shows), and sums the time of every op the executor ran, read
from the trace's XPlane protobuf (no TensorBoard plugin needed). Prints two tables:
time by op type (Conv2D, BatchNorm pieces, ...) and by part of the network (3x3 convs,
1x1 shortcuts, batch norm, attention, upsampling, spectral norm, optimizer, ...), each
as a share of all op time. By default the executor runs one op at a time
(`--inter_op_threads=1`, each op still using every core): with TF's default two ops
share the two cores and each op's time stretches by whatever ran beside it, which
made the per-op figures unreliable (summed op time twice the wall time).
"""

import argparse
import collections
import glob
import os
import sys
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sagan_tf  # noqa: E402,F401  first: oneDNN on before TensorFlow loads (sagan_tf/cpu.py)
import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from tensorflow.tsl.profiler.protobuf import xplane_pb2  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from train_step import make_training, set_threads  # noqa: E402

# (part, test on the lower-cased node name n and op type t), first match wins. Grappler
# fuses ops (a conv with its bias add or ReLU is one _FusedConv2D named after the last
# op), so convolutions are recognised by their type, other ops by their scope.
PARTS = (
    ("optimizer (Adam)", lambda n, t: "adam" in n or t.startswith("resourceapply")),
    ("attention", lambda n, t: "attention" in n),
    ("1x1 shortcut conv", lambda n, t: "conv_shortcut" in n and ("conv" in t or "matmul" in t)),
    ("3x3 conv", lambda n, t: "conv2d" in t),
    ("batch norm", lambda n, t: "cbn" in n or "/bn" in n or "batchnorm" in t
     or "moments" in n or "batch_norm_grad" in n),
    ("spectral norm, casts, bias in conv layers", lambda n, t: "conv" in n
     or "bias_grad" in n),
    ("upsampling (and its avg-pool gradient)", lambda n, t: "resize" in n
     or "upsample_grad" in n or "generator" in n and "avgpool" in t),
    ("downsampling (average pool)", lambda n, t: "avgpool" in t),
    ("dense / embedding", lambda n, t: any(k in n for k in ("dense", "embedding", "psi",
                                                              "projection", "linear"))),
    ("elementwise, losses, noise, other", lambda n, t: True),
)


def op_times(logdir):
    """{"node_name:op_type": picoseconds} summed over the executor threads' events."""
    paths = sorted(glob.glob(os.path.join(logdir, "**", "*.xplane.pb"), recursive=True))
    if not paths:
        raise RuntimeError(f"The profiler wrote no .xplane.pb under {logdir}.")
    space = xplane_pb2.XSpace()
    with open(paths[-1], "rb") as f:
        space.ParseFromString(f.read())
    totals = collections.Counter()
    for plane in space.planes:
        if not plane.name.startswith("/host:CPU"):
            continue
        for line in plane.lines:
            if not line.name.startswith("tf_Compute"):
                continue
            for event in line.events:
                name = plane.event_metadata[event.metadata_id].name
                if ":" in name and not name.startswith(("ExecutorState", "Threadpool")):
                    totals[name] += event.duration_ps
    return totals


def _table(title, counter, top):
    total = sum(counter.values())
    print(f"\n| {title} | ms per iteration | share |\n|---|---|---|")
    for key, ps in counter.most_common(top):
        print(f"| {key} | {ps / 1e9 / ARGS.iters:.1f} | {100 * ps / total:.1f}% |")
    print(f"| all ops | {total / 1e9 / ARGS.iters:.1f} | 100% |")


def main():
    set_threads(ARGS.inter_op_threads, 0)
    train, iterator, _, _ = make_training(ARGS.policy, ARGS.batch_size, *_overrides())
    for _ in range(2):
        train(next(iterator))["d_loss"].numpy()
    logdir = tempfile.mkdtemp(prefix="sagan_profile_")
    tf.profiler.experimental.start(logdir)
    for _ in range(ARGS.iters):
        train(next(iterator))["d_loss"].numpy()
    tf.profiler.experimental.stop()
    keras.mixed_precision.set_global_policy("float32")
    totals = op_times(logdir)
    by_type, by_part = collections.Counter(), collections.Counter()
    for name, ps in totals.items():
        by_type[name.rsplit(":", 1)[1]] += ps
        node, op_type = name.lower().rsplit(":", 1)
        by_part[next(part for part, match in PARTS if match(node, op_type))] += ps
    print(f"sagan32, batch {ARGS.batch_size}, {ARGS.policy}, {ARGS.iters} iterations "
          f"(trace in {logdir})")
    _table("part of the network", by_part, ARGS.top)
    _table("op type", by_type, ARGS.top)


def _overrides():
    if not ARGS.width:
        return None, None
    return {"channels": [ARGS.width] * 3}, {"channels": [ARGS.width] * 4}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--policy", default="mixed_bfloat16")
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--iters", type=int, default=3)
    parser.add_argument("--width", type=int, default=0, help="0 keeps the preset's widths")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--inter_op_threads", type=int, default=1,
                        help="0: TF's default (ops run side by side; times overlap)")
    ARGS = parser.parse_args()
    main()

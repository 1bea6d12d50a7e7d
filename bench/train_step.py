"""Benchmark: seconds per SAGAN training iteration (1 D step + 1 G step).

    python bench/train_step.py [--preset=sagan32] [--batch_size=64] [--iters=10]
        [--warmup=3] [--policies=float32,mixed_bfloat16] [--device=cpu] [--jit_compile]

Measures a preset (any of `sagan_tf.presets.PRESETS`) with 10 classes for each precision
policy, and the matrix-multiply peak of each precision on the same device in the same
run (best of 3; n = 4096 on a CPU, 8192 on a GPU), so that the fraction of peak
compares across resolutions and machines. `--device=gpu` measures the first GPU
TensorFlow sees (and exits 0 with a message when there is none); `--jit_compile`
compiles the step with XLA. It first prints `sagan_tf.cpu.describe()` (whether
TensorFlow's oneDNN kernels are on; the CPU's model and relevant features), and the
bf16 warning of `sagan_tf.cpu` before a bf16 policy on a CPU without native bf16. The
last line printed is JSON: one entry per policy with the same keys whatever the preset
and device (`s_per_image` is s_per_iter / batch_size; `onednn` and `cpu_features`
repeat the first line; `peak_memory_mib` is the GPU allocator's peak for that policy,
or on a CPU the process's peak resident memory so far, TensorFlow itself included).

GFLOP/s count the FLOPs the package executes (`bench/flops.py`): for sagan32 at batch
64, 759 GFLOP per iteration with G's sub-pixel and D's strided convolutions (the
defaults, their kernel gradients taken for the 3x3 kernels; 1,121 with the
plain ones), not the 1,158 of the paper's formulation in the authors' order, because
those forms and the 1x1 shortcuts at the lower resolution do less work for the same
function. Counting the paper's figure against our time would flatter the fraction of
peak by 53%.
"""

import argparse
import json
import os
import resource
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sagan_tf  # noqa: E402  first: oneDNN on before TensorFlow loads (sagan_tf/cpu.py)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from sagan_tf import cpu, presets  # noqa: E402
from flops import train_iteration_flops  # noqa: E402
from sagan_tf.sagan import SAGAN  # noqa: E402


#: The compute dtype of each policy the benchmark takes.
DTYPES = {"float32": "float32", "mixed_bfloat16": "bfloat16", "mixed_float16": "float16"}


def matmul_peak_gflops(dtype, n=4096, repeats=3):
    a = tf.random.normal((n, n), dtype="float32")
    b = tf.random.normal((n, n), dtype="float32")
    a, b = tf.cast(a, dtype), tf.cast(b, dtype)
    mm = tf.function(lambda x, y: tf.reduce_sum(tf.cast(tf.matmul(x, y)[0, 0], "float32")))
    mm(a, b)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        mm(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def set_threads(inter_op, intra_op):
    """TF's thread pools (before any op runs); 0 keeps TF's default."""
    if inter_op:
        tf.config.threading.set_inter_op_parallelism_threads(inter_op)
    if intra_op:
        tf.config.threading.set_intra_op_parallelism_threads(intra_op)


def make_training(policy, batch_size, g_overrides=None, d_overrides=None, preset="sagan32",
                  jit_compile=False):
    """`preset` with 10 classes under `policy`: (one-iteration tf.function, batches, G,
    D); with `jit_compile` the function is compiled with XLA.

    Leaves `policy` as the global policy (train_step is traced under it); callers
    reset it.
    """
    keras.mixed_precision.set_global_policy(policy)
    keras.utils.set_random_seed(0)
    g = sagan_tf.build_generator(preset, 10, **(g_overrides or {}))
    d = sagan_tf.build_discriminator(preset, 10, **(d_overrides or {}))
    model = SAGAN(g, d)
    model.compile()
    resolution = presets.get_preset(preset)["resolution"]
    rng = np.random.default_rng(0)
    images = rng.uniform(-1, 1, (batch_size, resolution, resolution, 3)).astype("float32")
    labels = rng.integers(0, 10, batch_size).astype("int32")
    iterator = iter(tf.data.Dataset.from_tensors((images, labels)).repeat())
    return tf.function(model.train_step, jit_compile=jit_compile), iterator, g, d


def time_training(policy, batch_size, iters, warmup, preset="sagan32", jit_compile=False):
    train, iterator, g, d = make_training(policy, batch_size, preset=preset,
                                          jit_compile=jit_compile)
    for _ in range(warmup):
        train(next(iterator))["d_loss"].numpy()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        train(next(iterator))["d_loss"].numpy()
        times.append(time.perf_counter() - start)
    flops = train_iteration_flops(g, d, batch_size)[0]
    paper_flops = train_iteration_flops(g, d, batch_size, paper_order=True)[0]
    keras.mixed_precision.set_global_policy("float32")
    return float(np.median(times)), flops, paper_flops


def peak_memory_mib(device):
    """The peak memory so far: the GPU allocator's peak on a GPU (reset per policy), the
    process's peak resident memory (ru_maxrss, TensorFlow included) on a CPU."""
    if device.startswith("/GPU"):
        return tf.config.experimental.get_memory_info("GPU:0")["peak"] / 2 ** 20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def select_device(device):
    """The device to measure on, as (TF device string, description), or None when
    `device` is "gpu" and TensorFlow sees no GPU. "cpu" hides the GPUs."""
    gpus = tf.config.list_physical_devices("GPU")
    if device == "cpu":
        if gpus:
            tf.config.set_visible_devices([], "GPU")
        return "/CPU:0", f"{cpu.cpu_info().model or 'CPU'} ({os.cpu_count()} logical cores)"
    if not gpus:
        return None
    details = tf.config.experimental.get_device_details(gpus[0])
    return "/GPU:0", details.get("device_name", gpus[0].name)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="sagan32", choices=sorted(presets.PRESETS))
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    parser.add_argument("--device", default="cpu", choices=("cpu", "gpu"))
    parser.add_argument("--jit_compile", action="store_true",
                        help="compile the training step with XLA")
    parser.add_argument("--inter_op_threads", type=int, default=0,
                        help="TF inter-op threads (0: TF's default)")
    parser.add_argument("--intra_op_threads", type=int, default=0,
                        help="TF intra-op threads (0: TF's default)")
    args = parser.parse_args()
    unknown = sorted(set(args.policies.split(",")) - set(DTYPES))
    if unknown:
        parser.error(f"--policies takes a comma-separated list of {sorted(DTYPES)}. "
                     f"Received unknown: {unknown}")
    set_threads(args.inter_op_threads, args.intra_op_threads)
    selected = select_device(args.device)
    if selected is None:
        print("--device=gpu: TensorFlow sees no GPU on this machine "
              f"(tf.config.list_physical_devices('GPU') is empty): nothing measured.")
        return 0
    device, description = selected
    print(cpu.describe(), flush=True)  # which kernels the figures below are of
    onednn, info = cpu.onednn_state()[0], cpu.cpu_info()
    results = {}
    with tf.device(device):
        for policy in args.policies.split(","):
            dtype = DTYPES[policy]
            warning = cpu.bf16_warning(policy, on_cpu=device == "/CPU:0")
            if warning:
                print(f"Warning: {warning}", flush=True)
            if device.startswith("/GPU"):
                tf.config.experimental.reset_memory_stats("GPU:0")
            s, flops, paper_flops = time_training(policy, args.batch_size, args.iters,
                                                  args.warmup, args.preset, args.jit_compile)
            memory = peak_memory_mib(device)
            peak = matmul_peak_gflops(dtype, n=8192 if device.startswith("/GPU") else 4096)
            gflops = flops / s / 1e9
            results[policy] = {"preset": args.preset,
                               "resolution": presets.get_preset(args.preset)["resolution"],
                               "batch_size": args.batch_size, "device": description,
                               "jit_compile": args.jit_compile,
                               "s_per_iter": round(s, 4),
                               "s_per_image": round(s / args.batch_size, 5),
                               "img_per_s": round(args.batch_size / s, 2),
                               "peak_memory_mib": round(memory),
                               "gflops": round(gflops, 1), "peak_gflops": round(peak, 1),
                               "fraction_of_peak": round(gflops / peak, 3),
                               "gflop_per_iter": round(flops / 1e9, 1), "onednn": onednn,
                               "cpu_features": [f for f in cpu.FEATURES if f in info.flags],
                               "paper_order_gflop_per_iter": round(paper_flops / 1e9, 1)}
            print(f"{args.preset} {policy:>15} on {description}: {s:.3f} s/iter, "
                  f"{args.batch_size / s:.1f} img/s, peak memory {memory:.0f} MiB, "
                  f"{gflops:.0f} GFLOP/s of {peak:.0f} "
                  f"peak ({gflops / peak:.3f}); {flops / 1e9:.1f} GFLOP per iteration "
                  f"executed ({paper_flops / 1e9:.1f} in the authors' shortcut order)",
                  flush=True)
    print(json.dumps(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())

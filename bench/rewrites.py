"""Benchmark: the residual blocks' sub-pixel and strided forms against the plain path.

    python bench/rewrites.py [--batch_size=64] [--repeats=7] [--policies=float32,mixed_bfloat16]
        [--parts=blocks,serving,training]

For each `sagan32` block the rewrites touch (G's three up-blocks, D's two downsampling
blocks), one training-mode forward + backward (gradients of the input and of every
weight) of the block with `upsample_conv="subpixel"` / `pooled_conv="strided"` and with
"plain", the same weights, in one process, interleaved: plain, rewrite, plain, ... The
median seconds of each and their ratio are printed; the last line is JSON.

`serving`: the whole `sagan32` generator's inference forward (batch 1 and batch_size)
with `upsample_conv="subpixel"` against "plain". `training`: one sagan32 training
iteration (1 D step + 1 G step, `SAGAN.train_step` in a tf.function, as
bench/train_step.py runs it) with both rewrites against both plain, interleaved.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sagan_tf  # noqa: E402  first: oneDNN on before TensorFlow loads (sagan_tf/cpu.py)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from sagan_tf.layers import ResidualDownBlock, ResidualUpBlock  # noqa: E402
from sagan_tf.sagan import SAGAN  # noqa: E402

# (name, block kind, input [H, W, C], filters, extra constructor arguments): sagan32.
BLOCKS = [
    ("G block1 4->8", "up", (4, 4, 256), 256, {}),
    ("G block2 8->16", "up", (8, 8, 256), 256, {}),
    ("G block3 16->32", "up", (16, 16, 256), 256, {}),
    ("D block1 32->16 (optimized)", "down", (32, 32, 3), 128, {"optimized": True}),
    ("D block2 16->8", "down", (16, 16, 128), 128, {}),
]


def make_step(kind, shape, filters, extra, path, batch_size, seed=0):
    keras.utils.set_random_seed(seed)
    rng = np.random.default_rng(seed)
    x = tf.constant(rng.standard_normal((batch_size,) + shape).astype("float32"))
    if kind == "up":
        block = ResidualUpBlock(filters, 10, upsample_conv=path, **extra)
        inputs = [x, tf.constant(rng.integers(0, 10, batch_size).astype("int32"))]
    else:
        block = ResidualDownBlock(filters, pooled_conv=path, **extra)
        inputs = x
    block(inputs)

    @tf.function(autograph=False)
    def step():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = block(inputs, training=True)
            loss = tf.reduce_sum(tf.cast(y, "float32")) * 1e-3
        grads = tape.gradient(loss, [x] + block.trainable_weights)
        return tf.add_n([tf.reduce_sum(tf.cast(g, "float32")) for g in grads])

    return block, step


def interleaved(steps, repeats, warmup=2):
    """Median seconds of each callable in `steps` ({name: fn}), run in turn."""
    for step in steps.values():
        for _ in range(warmup):
            step()
    times = {k: [] for k in steps}
    for _ in range(repeats):
        for key, step in steps.items():
            start = time.perf_counter()
            step()
            times[key].append(time.perf_counter() - start)
    return {k: float(np.median(v)) for k, v in times.items()}


def serving_steps(batch_size):
    keras.utils.set_random_seed(0)
    gens = {p: sagan_tf.build_generator("sagan32", 10, upsample_conv=p)
            for p in ("plain", "subpixel")}
    gens["subpixel"].set_weights(gens["plain"].get_weights())
    rng = np.random.default_rng(0)
    steps = {}
    for n in sorted({1, batch_size}):
        z = tf.constant(rng.standard_normal((n, 128)).astype("float32"))
        labels = tf.constant(np.arange(n) % 10, "int32")
        for path, g in gens.items():
            fn = tf.function(lambda z, labels, g=g: g([z, labels], training=False),
                             autograph=False)
            steps[f"batch {n} {path}"] = (lambda fn=fn, z=z, labels=labels:
                                          fn(z, labels).numpy())
    return steps


def training_steps(batch_size):
    rng = np.random.default_rng(0)
    images = tf.constant(rng.uniform(-1, 1, (batch_size, 32, 32, 3)).astype("float32"))
    labels = tf.constant(rng.integers(0, 10, batch_size).astype("int32"))
    steps = {}
    for name, g_path, d_path in (("plain", "plain", "plain"),
                                 ("rewrites", "subpixel", "strided")):
        keras.utils.set_random_seed(0)
        model = SAGAN(sagan_tf.build_generator("sagan32", 10, upsample_conv=g_path),
                      sagan_tf.build_discriminator("sagan32", 10, pooled_conv=d_path))
        model.compile()
        fn = tf.function(model.train_step)
        steps[name] = lambda fn=fn: fn((images, labels))["d_loss"].numpy()
    return steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch_size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--policies", default="float32,mixed_bfloat16")
    parser.add_argument("--parts", default="blocks,serving,training")
    args = parser.parse_args()
    parts = args.parts.split(",")
    rewrite = {"up": "subpixel", "down": "strided"}
    results = {}
    for policy in args.policies.split(","):
        keras.mixed_precision.set_global_policy(policy)
        for name, kind, shape, filters, extra in (BLOCKS if "blocks" in parts else []):
            plain, plain_step = make_step(kind, shape, filters, extra, "plain", args.batch_size)
            fast, fast_step = make_step(kind, shape, filters, extra, rewrite[kind],
                                        args.batch_size)
            fast.set_weights(plain.get_weights())
            times = {"plain": [], rewrite[kind]: []}
            for step in (plain_step, fast_step):
                step()
                step()
            for _ in range(args.repeats):
                for key, step in (("plain", plain_step), (rewrite[kind], fast_step)):
                    start = time.perf_counter()
                    step().numpy()
                    times[key].append(time.perf_counter() - start)
            med = {k: float(np.median(v)) for k, v in times.items()}
            ratio = med["plain"] / med[rewrite[kind]]
            results[f"{policy} {name}"] = {**{k: round(v, 4) for k, v in med.items()},
                                           "speedup": round(ratio, 2)}
            print(f"{policy:>15} {name:<28} plain {med['plain'] * 1e3:7.1f} ms, "
                  f"{rewrite[kind]} {med[rewrite[kind]] * 1e3:7.1f} ms: {ratio:.2f}x",
                  flush=True)
        for part, make in (("serving", serving_steps), ("training", training_steps)):
            if part not in parts:
                continue
            med = interleaved(make(args.batch_size), args.repeats)
            results[f"{policy} {part}"] = {k: round(v, 4) for k, v in med.items()}
            print(f"{policy:>15} {part}: " + ", ".join(
                f"{k} {v * 1e3:.1f} ms" for k, v in med.items()), flush=True)
        keras.mixed_precision.set_global_policy("float32")
    print(json.dumps(results))


if __name__ == "__main__":
    main()

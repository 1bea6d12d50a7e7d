"""Benchmark: time and peak memory of SelfAttention from 16x16 to 256x256 feature maps.

    python bench/attention.py [--batch_size=8] [--sizes=16,32,64,128,256] [--chunk=1024]
        [--paths=pooled,unpooled,pooled_efficient,unpooled_efficient]

Each configuration runs in a fresh process (forward + backward, training mode, batch 8,
the sagan256 generator's channel count at that resolution) and reports the median time
of --runs calls after the first, the process's peak resident memory (ru_maxrss) and
its rise above the level before the first call, for keys pooled 2x2 (authors' code)
and not (paper), each by the plain N x N map (`memory_efficient=False`) and by the
memory-efficient path (`memory_efficient=True`, blocks of --chunk queries x --chunk
keys). The plain path is
skipped where its map alone would exceed --max_map_gib. Times on a shared CPU are not
comparable; peak memory is.
"""

import argparse
import json
import os
import subprocess
import sys

CHANNELS = {16: 512, 32: 256, 64: 128, 128: 64, 256: 32}
PATHS = {"pooled": (True, False), "unpooled": (False, False),
         "pooled_efficient": (True, True), "unpooled_efficient": (False, True)}

_CHILD = r"""
import os, resource, sys, time, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
from sagan_tf.layers import SelfAttention  # first: oneDNN on before TensorFlow loads
import numpy as np, tensorflow as tf
size, channels, batch, pool, efficient, chunk, runs = [json.loads(a) for a in sys.argv[1:8]]
layer = SelfAttention(pool_keys=pool, memory_efficient=efficient, query_chunk_size=chunk,
                      key_chunk_size=chunk)
x = tf.random.normal((batch, size, size, channels))
layer.build(x.shape)
layer.gamma.assign(0.5)
@tf.function
def step(x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(y * y)
    return tape.gradient(loss, [x] + layer.trainable_variables)[0]
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for i in range(runs + 1):
    t = time.perf_counter(); step(x).numpy(); times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"s": float(np.median(times[1:])), "peak_mib": peak / 1024,
                  "rise_mib": (peak - base) / 1024}))
"""


def run(size, batch, pool, efficient, chunk, runs):
    args = [json.dumps(v) for v in (size, CHANNELS[size], batch, pool, efficient, chunk,
                                    runs)]
    out = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1][:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--sizes", default="16,32,64,128,256")
    parser.add_argument("--chunk", type=int, default=1024)
    parser.add_argument("--paths", default=",".join(PATHS))
    parser.add_argument("--runs", type=int, default=3, help="timed calls after the first")
    parser.add_argument("--max_map_gib", type=float, default=8.0)
    args = parser.parse_args()
    results = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        for name in args.paths.split(","):
            pool, efficient = PATHS[name]
            n = size * size
            map_gib = args.batch_size * n * (n // 4 if pool else n) * 4 / 2 ** 30
            if not efficient and map_gib > args.max_map_gib:
                r = {"error": f"skipped: the map alone would take {map_gib:.0f} GiB"}
            else:
                r = run(size, args.batch_size, pool, efficient, args.chunk, args.runs)
            results[f"{size}x{size}/{name}"] = r
            print(f"{size:>4}x{size:<4} {name:>18}: "
                  + (r["error"] if "error" in r else
                     f"{r['s']:.3f} s fwd+bwd, peak {r['peak_mib']:.0f} MiB "
                     f"(+{r['rise_mib']:.0f} MiB)"), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()

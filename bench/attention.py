"""Benchmark: time and peak memory of SelfAttention from 16x16 to 128x128 feature maps.

    python bench/attention.py [--batch_size=8] [--sizes=16,32,64,128] [--chunk=1024]

Each configuration runs in a fresh process (forward + backward, training mode, batch 8,
the sagan128 generator's channel count at that resolution) and reports the median time
of 3 runs and the process's peak resident memory above its level before the first
call (ru_maxrss), for: keys pooled 2x2 (authors' code), no pooling (paper), and the
memory-efficient path (`query_chunk_size`, rematerialised per chunk).
"""

import argparse
import json
import os
import subprocess
import sys

CHANNELS = {16: 512, 32: 256, 64: 128, 128: 64}

_CHILD = r"""
import os, resource, sys, time, json
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "2"
from sagan_tf.layers import SelfAttention  # first: oneDNN on before TensorFlow loads
import numpy as np, tensorflow as tf
size, channels, batch, pool, chunk = [json.loads(a) for a in sys.argv[1:6]]
layer = SelfAttention(pool_keys=pool, query_chunk_size=chunk)
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
for i in range(4):
    t = time.perf_counter(); step(x).numpy(); times.append(time.perf_counter() - t)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"s": float(np.median(times[1:])), "peak_mib": (peak - base) / 1024}))
"""


def run(size, batch, pool, chunk):
    args = [json.dumps(v) for v in (size, CHANNELS[size], batch, pool, chunk)]
    out = subprocess.run([sys.executable, "-c", _CHILD, *args], capture_output=True,
                         text=True, check=False)
    if out.returncode != 0:
        return {"error": out.stderr.strip().splitlines()[-1][:200]}
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch_size", type=int, default=8)
    parser.add_argument("--sizes", default="16,32,64,128")
    parser.add_argument("--chunk", type=int, default=1024)
    args = parser.parse_args()
    results = {}
    for size in [int(s) for s in args.sizes.split(",")]:
        for name, pool, chunk in (("pooled", True, None), ("unpooled", False, None),
                                  ("pooled_chunked", True, args.chunk),
                                  ("unpooled_chunked", False, args.chunk)):
            n = size * size
            beta_gib = args.batch_size * n * (n // 4 if pool else n) * 4 / 2 ** 30
            if chunk is None and beta_gib > 4:
                r = {"error": f"skipped: beta alone would take {beta_gib:.0f} GiB"}
            else:
                r = run(size, args.batch_size, pool, chunk)
            results[f"{size}x{size}/{name}"] = r
            print(f"{size:>4}x{size:<4} {name:>15}: "
                  + (r["error"] if "error" in r else
                     f"{r['s']:.3f} s fwd+bwd, peak +{r['peak_mib']:.0f} MiB"), flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()

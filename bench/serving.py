"""Benchmark: latency and throughput of the exported generator's signatures on this machine.

    python bench/serving.py [--saved_model=DIR] [--preset=sagan32] [--batch_sizes=1,8,32,64]
        [--iters=10] [--warmup=2] [--upsample_conv=subpixel|plain]

Without --saved_model, exports a freshly initialised `preset` generator (10 classes;
weights do not change the cost) to a temporary directory first and reports how long
that took. Each signature (`serving_default`, `generate`) is timed per batch size two
ways: "session", the TF1 Session on the serve MetaGraph fed by tensor name as TF
Serving's Session::Run does (without its RPC, JSON and batching costs), and "load",
`tf.saved_model.load(...).signatures[...]`. Reported: the median seconds per request
and images per second. `--upsample_conv` builds the fresh generator with G's sub-pixel
up-convolutions (the default) or the plain upsample-then-3x3 form (issue 18), to compare
the two exports' throughput. The last line printed is JSON.
"""

import argparse
import json
import os
import statistics
import sys
import tempfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sagan_tf  # noqa: E402,F401  first: oneDNN on before TensorFlow loads (sagan_tf/cpu.py)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402


def export_fresh(preset, directory, upsample_conv=None):
    import sagan_tf  # pylint: disable=import-outside-toplevel
    from export import exporter  # pylint: disable=import-outside-toplevel

    overrides = {} if upsample_conv is None else {"upsample_conv": upsample_conv}
    generator = sagan_tf.build_generator(preset, 10, **overrides)
    start = time.perf_counter()
    path = exporter.export_generator(generator, directory, 1, num_classes=10)
    return path, time.perf_counter() - start


def inputs_for(signature, n, latent_dim, rng):
    labels = (np.arange(n) % 10).astype(np.int32)
    if signature == "serving_default":
        return {"z": rng.standard_normal((n, latent_dim)).astype(np.float32), "labels": labels}
    return {"labels": labels, "seed": np.int64(7), "truncation": np.float32(0.0)}


def median_seconds(call, iters, warmup):
    for _ in range(warmup):
        call()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--saved_model", default=None)
    parser.add_argument("--preset", default="sagan32")
    parser.add_argument("--batch_sizes", default="1,8,32,64")
    parser.add_argument("--iters", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--upsample_conv", default=None, choices=("subpixel", "plain"),
                        help="G's up-convolutions of a fresh export (default: the preset's)")
    args = parser.parse_args()
    batch_sizes = [int(n) for n in args.batch_sizes.split(",")]

    result = {"preset": None, "upsample_conv": args.upsample_conv, "export_seconds": None,
              "timings": []}
    with tempfile.TemporaryDirectory() as tmp:
        path = args.saved_model
        if path is None:
            path, result["export_seconds"] = export_fresh(args.preset, tmp, args.upsample_conv)
            result["preset"] = args.preset
        loaded = tf.saved_model.load(path)
        latent_dim = int(loaded.latent_dim.numpy())
        graph = tf.Graph()
        session = tf.compat.v1.Session(graph=graph)
        with graph.as_default():
            meta_graph = tf.compat.v1.saved_model.loader.load(session, ["serve"], path)
        rng = np.random.default_rng(0)
        for name in ("serving_default", "generate"):
            signature = meta_graph.signature_def[name]
            fetches = [signature.outputs[k].name for k in sorted(signature.outputs)]
            for n in batch_sizes:
                values = inputs_for(name, n, latent_dim, rng)
                feeds = {signature.inputs[k].name: v for k, v in values.items()}
                tensors = {k: tf.constant(v) for k, v in values.items()}
                calls = {"session": lambda: session.run(fetches, feeds),
                         "load": lambda: loaded.signatures[name](**tensors)}  # noqa: B023
                for mode, call in calls.items():
                    seconds = median_seconds(call, args.iters, args.warmup)
                    row = {"signature": name, "mode": mode, "batch_size": n,
                           "seconds": round(seconds, 5), "images_per_second": round(n / seconds, 1)}
                    result["timings"].append(row)
                    print(f"{name:16s} {mode:8s} N={n:<4d} {seconds * 1e3:9.2f} ms  "
                          f"{n / seconds:9.1f} images/s", flush=True)
        session.close()
    if result["export_seconds"] is not None:
        print(f"export ({args.preset}): {result['export_seconds']:.1f} s")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

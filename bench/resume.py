"""Benchmark: time to the first batch of a run resumed at step 10**6, against a fresh start.

    python bench/resume.py [--examples=1000000] [--batch_size=256] [--step=1000000]
        [--repeats=5] [--replay_batches=200]

The source is synthetic: `--examples` 4x4 RGB uint8 images held in memory (an arrays
source, random access like folders and digits), batched `--batch_size` at a time with
shuffling and random flips, as `sagan-train` reads them. For each repeat, interleaved:

- `fresh_s`: `iter()` and the first batch of the dataset `load_dataset` returns;
- `resumed_s`: the same for `resume_dataset(dataset, --step)`: the batch `--step` steps
  into the run (position step * batch, epoch 256 of the 1M examples), computed from the
  step, nothing before it read;
- `replay_per_batch_s`: what the replaced `dataset.skip(step)` costs per skipped batch,
  measured over `--replay_batches` batches; `replay_estimate_s` = that x `--step`, the
  time `skip` would have taken (not run: about 256 epochs of the data);
- `buffer_fresh_s`: the first batch of the pipeline this replaced (indices through a
  `shuffle` buffer of all N examples, then the same map and batch), which fills the
  whole buffer before its first batch.

Medians over the repeats; the last line printed is JSON. Timings on a shared machine are
noisy: compare the figures of one run.
"""

import argparse
import json
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sagan_tf  # noqa: E402,F401  first: oneDNN on before TensorFlow loads (sagan_tf/cpu.py)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from sagan_tf import data  # noqa: E402


def buffer_pipeline(images, labels, batch_size):
    """The replaced pipeline: a shuffle buffer of every index, reshuffled each epoch."""
    images_t, labels_t = tf.constant(images), tf.constant(labels.astype(np.int32))
    ds = tf.data.Dataset.range(len(images)).shuffle(len(images), seed=0).repeat()
    ds = ds.map(lambda i: (tf.cast(tf.gather(images_t, i), tf.float32) / 127.5 - 1.0,
                           tf.gather(labels_t, i)), num_parallel_calls=tf.data.AUTOTUNE)
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def first_batch_seconds(dataset):
    start = time.perf_counter()
    images, _ = next(iter(dataset))
    images.numpy()
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1_000_000)
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--step", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--replay_batches", type=int, default=200)
    args = parser.parse_args()

    rng = np.random.RandomState(0)
    images = rng.randint(0, 256, (args.examples, 4, 4, 3), dtype=np.uint8)
    labels = rng.randint(0, 1000, args.examples)
    start = time.perf_counter()
    dataset, _ = data.load_dataset((images, labels), resolution=4,
                                   global_batch_size=args.batch_size, seed=0,
                                   random_flip=True)
    build_s = time.perf_counter() - start

    old = buffer_pipeline(images, labels, args.batch_size)
    fresh, resumed, replay, buffer_fresh = [], [], [], []
    for _ in range(args.repeats):
        buffer_fresh.append(first_batch_seconds(old))
        fresh.append(first_batch_seconds(dataset))
        resumed.append(first_batch_seconds(data.resume_dataset(dataset, args.step)))
        start = time.perf_counter()
        for _ in dataset.skip(args.replay_batches).take(1):
            pass
        replay.append((time.perf_counter() - start) / args.replay_batches)

    # The resumed batch is the one the uninterrupted stream has there: check it on a
    # step the replay can reach.
    check = 50
    (x_skip, y_skip), = list(dataset.skip(check).take(1))
    (x_res, y_res), = list(data.resume_dataset(dataset, check).take(1))
    assert np.array_equal(x_skip, x_res) and np.array_equal(y_skip, y_res)

    replay_per_batch = statistics.median(replay)
    result = {
        "examples": args.examples, "batch_size": args.batch_size, "step": args.step,
        "epoch_at_step": args.step * args.batch_size // args.examples,
        "build_s": round(build_s, 3),
        "fresh_s": round(statistics.median(fresh), 4),
        "resumed_s": round(statistics.median(resumed), 4),
        "replay_per_batch_s": round(replay_per_batch, 6),
        "replay_estimate_s": round(replay_per_batch * args.step, 1),
        "buffer_fresh_s": round(statistics.median(buffer_fresh), 4),
        "repeats": args.repeats, "cpus": os.cpu_count(),
    }
    print(f"Fresh start: first batch in {result['fresh_s']:.3f} s; resumed at step "
          f"{args.step}: {result['resumed_s']:.3f} s (replaying with skip would take about "
          f"{result['replay_estimate_s']:.0f} s: {replay_per_batch * 1e3:.2f} ms a batch).")
    print(json.dumps(result))


if __name__ == "__main__":
    main()

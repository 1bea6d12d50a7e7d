"""Benchmark: images per second of the evaluation's classifier pass, against the matmul peak.

    python bench/eval.py [--batch_size=50] [--iters=4] [--warmup=1] [--manifold_n=2000]

Every metric of `sagan_tf.evaluation.evaluate` reads the activations of one classifier
pass per image, so that pass is the cost of an evaluation. Measured here, in one run:

- an Inception-shaped network at 299x299 (`keras.applications.InceptionV3(weights=None)`,
  built locally with random weights: the same layers and FLOPs as TF-GAN's Inception,
  whose weights are not needed for speed) with a 1008-way head, fed images at 128x128
  that `Classifier` resizes to 299x299 as in a real evaluation;
- the domain classifier (`--classifier=domain`) at 32x32;
- the float32 matmul peak (4096^3, best of 3), as `bench/train_step.py` measures it;
- precision/recall + density/coverage (`manifold_metrics`) on `--manifold_n` random
  2048-feature activations per set: their cost grows as n^2 (50,000 x 50,000 is
  (50000 / n)^2 times this).

GFLOP/s count the convolutions and dense layers (multiply-add = 2 FLOPs) of the forward
pass. The last line printed is JSON.
"""

import argparse
import json
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import sagan_tf  # noqa: E402,F401  first: oneDNN on before TensorFlow loads (sagan_tf/cpu.py)
import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from train_step import matmul_peak_gflops  # noqa: E402

from sagan_tf import metrics  # noqa: E402
from sagan_tf.evaluation.metrics_run import manifold_metrics  # noqa: E402


def forward_flops(model):
    """Conv2D and Dense FLOPs of one image's forward pass (nested models included)."""
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.Model):
            total += forward_flops(layer)
        elif isinstance(layer, keras.layers.Conv2D):
            kh, kw, cin, cout = layer.kernel.shape
            h, w = layer.output.shape[1:3]
            total += 2 * h * w * kh * kw * cin * cout
        elif isinstance(layer, keras.layers.Dense):
            total += 2 * int(np.prod(layer.kernel.shape))
    return total


def inception_shaped():
    base = keras.applications.InceptionV3(weights=None, include_top=False, pooling="avg",
                                          input_shape=(299, 299, 3))  # flat: pool_3 last
    logits = keras.layers.Dense(1008, name="logits")(base.output)
    return keras.Model(base.input, logits, name="inception_shaped")


def images_per_second(classifier, size, batch_size, iters, warmup):
    images = tf.random.uniform((batch_size, size, size, 3), -1.0, 1.0)
    for _ in range(warmup):
        classifier.logits_and_activations(images)[1].numpy()
    times = []
    for _ in range(iters):
        start = time.perf_counter()
        classifier.logits_and_activations(images)[1].numpy()
        times.append(time.perf_counter() - start)
    return batch_size / float(np.median(times))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--batch_size", type=int, default=50)
    parser.add_argument("--iters", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--manifold_n", type=int, default=2000)
    args = parser.parse_args()
    keras.utils.set_random_seed(0)
    peak = matmul_peak_gflops("float32")
    results = {"peak_gflops": round(peak, 1), "devices": [
        d.device_type for d in tf.config.list_logical_devices()]}
    cases = (("inception_shaped_299", inception_shaped(), 128),
             ("domain_32", metrics.build_domain_classifier((32, 32, 3), 10), 32))
    for name, model, image_size in cases:
        classifier = metrics.keras_classifier(model)
        rate = images_per_second(classifier, image_size, args.batch_size, args.iters,
                                 args.warmup)
        flops = forward_flops(model)
        gflops = rate * flops / 1e9
        results[name] = {"img_per_s": round(rate, 1), "gflop_per_image": round(flops / 1e9, 3),
                         "gflops": round(gflops, 1), "fraction_of_peak": round(gflops / peak, 3),
                         "input": f"{image_size}->{classifier.input_size[0]}"}
        print(f"{name:>22}: {rate:.1f} images/s, {flops / 1e9:.3f} GFLOP/image, "
              f"{gflops:.0f} GFLOP/s of {peak:.0f} peak ({gflops / peak:.2f})", flush=True)
    rng = np.random.default_rng(0)
    n = args.manifold_n
    real, fake = rng.normal(size=(n, 2048)), rng.normal(size=(n, 2048))
    start = time.perf_counter()
    manifold_metrics(real, fake)
    seconds = time.perf_counter() - start
    results["manifold_metrics"] = {"n": n, "seconds": round(seconds, 2),
                                   "extrapolated_50k_s": round(seconds * (50000 / n) ** 2)}
    print(f"{'manifold metrics':>22}: {seconds:.2f} s for {n} x {n} (2048 features); "
          f"about {seconds * (50000 / n) ** 2:.0f} s for 50,000 x 50,000", flush=True)
    print(json.dumps(results))


if __name__ == "__main__":
    main()

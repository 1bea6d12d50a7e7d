"""Benchmark: other exact forms of the two issue-18 rewrites, op level, interleaved.

    python bench/rewrite_forms.py [--cases=G16to32,D32to16] [--dtypes=float32,bfloat16]
        [--repeats=5]

For the sagan32 shapes at batch 64, forward + backward (input and kernel gradients) of:
G's upsample-then-3x3 conv as the plain pair, as the package's four 2x2 convolutions
(`upsample_conv3x3`), and as one 2x2 convolution with 4F outputs over the once-padded
input whose four phases are sliced at their offsets ("one": (H+1)(W+1) instead of HW
positions, but one large op); D's 3x3-conv-then-avgpool as the plain pair, as the
package's 4x4 stride-2 convolution (`pooled_conv3x3`), and as space-to-depth then a 2x2
stride-1 convolution over 4C channels ("s2d", the same FLOPs). Prints the median ms of
each, its speed-up over plain and its largest relative difference from plain.

For the G cases, also G's kernel gradient alone (dL/dK given x and dL/dy): the four
phases' 2x2 filter gradients (`Conv2DBackpropFilter`, what autodiff of the phase convs
runs) against `kernel_gradient`'s two ways of summing the taps ("depthwise",
"pooled"), which pick its default per dtype.
"""

import argparse
import os
import sys
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
import sagan_tf  # noqa: E402,F401  first: oneDNN on before TensorFlow loads (sagan_tf/cpu.py)
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from sagan_tf.layers.pooled_conv import pooled_conv3x3, pooled_kernel  # noqa: E402
from sagan_tf.layers.residual_up_block import upsample_nearest_2x  # noqa: E402
from sagan_tf.layers.subpixel_conv import (_phases, kernel_gradient, phase_kernels,  # noqa: E402
                                           upsample_conv3x3)


def up_plain(x, k):
    """The package's plain path: nearest 2x upsampling, then the 3x3 'same' convolution."""
    return tf.nn.conv2d(upsample_nearest_2x(x), tf.cast(k, x.dtype), 1, "SAME")


def up_one(x, k):
    """The four phase kernels as one 2x2 conv with 4F outputs; phase (r, s) at (i, j)
    is that conv's output at (i + r, j + s) of the input padded by one on each side."""
    n, h, w, c = x.shape
    f = k.shape[3]
    kernels = tf.cast(phase_kernels(k), x.dtype)                 # [r, s, dh, dw, C, F]
    kernels = tf.reshape(tf.transpose(kernels, [2, 3, 4, 0, 1, 5]), (2, 2, c, 4 * f))
    y = tf.nn.conv2d(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), kernels, 1, "VALID")
    y = tf.reshape(y, (n, h + 1, w + 1, 2, 2, f))
    rows = [tf.stack([y[:, r:r + h, s:s + w, r, s, :] for s in range(2)], axis=3)
            for r in range(2)]
    return tf.reshape(tf.stack(rows, axis=2), (n, 2 * h, 2 * w, f))


def down_plain(x, k):
    """The 3x3 'same' convolution, then 2x2 average pooling."""
    y = tf.nn.conv2d(x, tf.cast(k, x.dtype), 1, "SAME")
    return tf.nn.avg_pool2d(y, 2, 2, "VALID")


def down_s2d(x, k):
    """The 4x4 stride-2 kernel as a 2x2 stride-1 conv over space-to-depth blocks: kernel
    row t = 2p + a becomes block row p, sub-row a (the (a, b, C) channel order of
    `tf.nn.space_to_depth`)."""
    c, f = x.shape[3], k.shape[3]
    kernel = tf.reshape(tf.cast(pooled_kernel(k), x.dtype), (2, 2, 2, 2, c, f))
    kernel = tf.reshape(tf.transpose(kernel, [0, 2, 1, 3, 4, 5]), (2, 2, 4 * c, f))
    blocks = tf.nn.space_to_depth(tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]), 2)
    return tf.nn.conv2d(blocks, kernel, 1, "VALID")


_UP = [("plain", up_plain), ("four", upsample_conv3x3), ("one", up_one)]
_DOWN = [("plain", down_plain), ("strided", pooled_conv3x3), ("s2d", down_s2d)]
# name: (input shape at batch 64, filters, forms); the sagan32 blocks' shapes.
CASES = {
    "G16to32": ((64, 16, 16, 256), 256, _UP),
    "G8to16": ((64, 8, 8, 256), 256, _UP),
    "G4to8": ((64, 4, 4, 256), 256, _UP),
    "D32to16": ((64, 32, 32, 128), 128, _DOWN),
    "D16to8": ((64, 16, 16, 128), 128, _DOWN),
}


def _phase_filter_gradients(x, dy):
    """dL/dK through the four phase convolutions' own filter gradients."""
    k = tf.zeros((3, 3, x.shape[3], dy.shape[3]), tf.float32)
    with tf.GradientTape() as tape:
        tape.watch(k)
        y = _phases(x, k)
    return tape.gradient(y, k, output_gradients=dy)


def time_kernel_gradients(name, shape, f, dt, repeats):
    rng = np.random.default_rng(1)
    x = tf.constant(rng.standard_normal(shape).astype("float32"), dtype=dt)
    dy = tf.constant(rng.standard_normal(
        (shape[0], 2 * shape[1], 2 * shape[2], f)).astype("float32"), dtype=dt)
    forms = {"phase filter grads": tf.function(_phase_filter_gradients),
             "depthwise": tf.function(lambda a, b: kernel_gradient(a, b, "depthwise")),
             "pooled": tf.function(lambda a, b: kernel_gradient(a, b, "pooled"))}
    times = {form: [] for form in forms}
    for fn in forms.values():
        fn(x, dy).numpy()
    for _ in range(repeats):
        for form, fn in forms.items():
            start = time.perf_counter()
            fn(x, dy).numpy()
            times[form].append(time.perf_counter() - start)
    print(name, dt, "kernel gradient:", "  ".join(
        f"{form} {np.median(t) * 1e3:.0f} ms" for form, t in times.items()), flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--dtypes", default="float32,bfloat16")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for name in args.cases.split(","):
        shape, f, forms = CASES[name]
        rng = np.random.default_rng(0)
        for dt in args.dtypes.split(","):
            x = tf.constant(rng.standard_normal(shape).astype("float32"), dtype=dt)
            k = tf.Variable(rng.standard_normal((3, 3, shape[3], f)).astype("float32") * 0.05)
            steps, errors, reference = {}, {}, None
            for form, fn in forms:
                @tf.function
                def step(fn=fn):
                    with tf.GradientTape() as tape:
                        tape.watch(x)
                        y = fn(x, k)
                        loss = tf.reduce_sum(tf.cast(y, tf.float32) ** 2)
                    return (y, *tape.gradient(loss, [x, k]))
                y = tf.cast(step()[0], tf.float32)
                reference = y if reference is None else reference
                errors[form] = float(tf.reduce_max(tf.abs(y - reference))
                                     / tf.reduce_max(tf.abs(reference)))
                steps[form] = step
            times = {form: [] for form in steps}
            for _ in range(args.repeats):
                for form, step in steps.items():
                    start = time.perf_counter()
                    step()[2].numpy()
                    times[form].append(time.perf_counter() - start)
            base = np.median(times[forms[0][0]])
            print(name, dt, "  ".join(
                f"{form} {np.median(t) * 1e3:.0f} ms (x{base / np.median(t):.2f}, "
                f"diff {errors[form]:.1e})" for form, t in times.items()), flush=True)
            if name.startswith("G"):
                time_kernel_gradients(name, shape, f, dt, args.repeats)


if __name__ == "__main__":
    main()

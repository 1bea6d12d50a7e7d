"""Tolerances of tests that compare two different computations of the same values.

Exact comparisons are for the same computation (the same function or graph, batch and
kernels). Two different computations (an eager Keras call and an exported graph,
different batch sizes, one device and two replicas, oneDNN and Eigen) add and multiply
in different orders, so their float32 results differ in the last bits, and by how much
depends on the CPU's kernels. Each tolerance here says why it holds on AVX2 and AVX-512
CPUs, oneDNN on or off; docs/cpu.md ("Tests on every CPU") has the rules.

How they were checked on one machine (an Intel Sapphire Rapids): each comparison run
three ways, as is (oneDNN's AVX-512/AMX kernels), with `TF_ENABLE_ONEDNN_OPTS=0` (Eigen,
which TensorFlow runs by default on AVX2-only CPUs such as AMD Zen 3) and with
`ONEDNN_MAX_CPU_ISA=AVX2` (oneDNN's AVX2 kernels, what sagan-tf runs on such CPUs).
"""

import numpy as np

#: One uint8 level of a generator image in the generator's [-1, 1] range (one level is
#: 1/255 of the [0, 1] range): uint8 = round((x + 1) * 127.5).
PIXEL_LEVEL = 2.0 / 255.0

#: Generator images (tanh outputs in [-1, 1]) of the same weights and z computed two
#: ways (a different batch size, eager Keras against the exported graph, another
#: process's graph). Measured, tiny sagan32 generator of tests/export (channels 16;
#: three blocks then, two now): at most 1.8e-6 over the three kernel sets above
#: (1.7e-6 oneDNN AVX-512, 1.5e-6 Eigen, 1.8e-6 oneDNN AVX2; batch 2 against batch 7,
#: batch 7 against 64, eager against the export). The bound is 11x that, so kernels that
#: round a little worse still pass, and 1/390 of a pixel level, so it still says "the same
#: image" (another class moves this generator's images by more than 0.05,
#: tests/export/test_sampling.py).
GENERATOR_ATOL = 2e-5

#: z of `sagan_tf.noise` (float64 transform, rounded once to float32) against the
#: SciPy float64 formula of tests/noise_reference.py: the two float64 values differ
#: by ~1e-15, so their float32 roundings are at most one float32 ulp apart, and
#: |z| <= ndtri(2^-53) < 8.2 makes one ulp at most 2^-20 = 9.5e-7, on any CPU.
Z_ATOL = 1e-6


def uint8_of(images_float):
    """The documented uint8 rule, in float32 as the export's signature computes it."""
    x = np.asarray(images_float, np.float32)
    return np.clip(np.round((x + np.float32(1.0)) * np.float32(127.5)), 0, 255)


def assert_same_pixels_up_to_ties(pixels, images_float, atol=GENERATOR_ATOL):
    """`pixels` (uint8 images of another computation) against `images_float` (floats in
    [-1, 1] of this one): equal, except one level apart where the float value lies within
    `atol` of a rounding tie (k + 0.5 levels), which two computations that differ by at
    most `atol` may round either way. Shapes [..., H, W, C] alike."""
    pixels = np.asarray(pixels).astype(np.int64)
    expected = uint8_of(images_float).astype(np.int64)
    assert pixels.shape == expected.shape, (pixels.shape, expected.shape)
    apart = pixels != expected
    assert np.abs(pixels - expected).max(initial=0) <= 1
    levels = (np.asarray(images_float, np.float64) + 1.0) * 127.5
    to_tie = np.abs(levels - np.floor(levels) - 0.5)  # in levels
    # The rule's own float32 rounding (x + 1, then * 127.5) moves a value by at most
    # 2 x 7.6e-6 levels (half an ulp of [1, 2) times 127.5, half an ulp of [128, 256)).
    near_tie = to_tie <= atol * 127.5 + 2e-5
    assert not (apart & ~near_tie).any(), (
        f"{int((apart & ~near_tie).sum())} pixels differ away from a rounding tie")


#: The bound on how far two replicas' SGD step may be from one device's, relative to the
#: step: ||w_two - w_one|| / ||w_one - w_before|| over all of a network's weights.
#: The replicas add the batch's terms in another order (per-replica partial sums, then
#: the all-reduce; synchronized BN's statistics likewise), and float32 sums of n terms in
#: two orders differ by about sqrt(n) u of their size (u = 2^-24; at most n u, Higham):
#: for a D step's 8 x 32 x 32 = 8192 summed positions, 5e-6 typically, 4.9e-4 at most,
#: and the step chains a few dozen such reductions. Measured on an Intel Sapphire Rapids:
#: 4.6e-6 (D) and 5.8e-7 (G), and per weight tensor at most 2.0e-5 with oneDNN's AVX-512
#: kernels and with Eigen's (TF_ENABLE_ONEDNN_OPTS=0), 2.9e-5 with oneDNN's AVX2 ones
#: (ONEDNN_MAX_CPU_ISA=AVX2). The bug this guards against, replicas whose D steps see
#: other examples (the batch not reordered), gives 0.74 (D) and 0.030 (G). 1e-3 is 35x
#: the largest rounding figure and 1/30 of the smallest bug figure. A norm, not the
#: largest element: one pre-activation within rounding of a ReLU kink flips a single
#: unit's gradient (an element off by 1e-3 with some noise seeds), and the conv biases
#: ahead of a batch norm have a zero gradient up to rounding (1e-9), so their own
#: relative change is noise; neither moves the norm.
STEP_RTOL = 1e-3

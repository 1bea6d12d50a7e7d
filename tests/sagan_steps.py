"""The small SAGAN models, batches and weight comparison that tests/sagan_tf's test_sagan
and test_sagan_replicas share: `sagan32` cut to `tiny_models`' widths with the plain
convolutions, SGD or the paper's TTUR Adam, and the comparison of weights computed two ways."""

import keras
import numpy as np
import tensorflow as tf

import sagan_tf
from tiny_models import TINY_D, TINY_G
from tolerances import STEP_RTOL
from sagan_tf.sagan import SAGAN

NUM_CLASSES = 10
LATENT = 128
# Noise seed. With sagan_tf.noise's z, seed 7 (used before) puts a pre-activation of the
# replica test within float rounding of a ReLU kink: G then differs by 1.7e-4 after one
# step. Over seeds 0-5 the two-step D difference is 2.8e-6 to 7.9e-6 (float32 summation
# order); 1 is a seed away from kinks.
SEED = 1
# Small enough that the weights change smoothly (larger steps make the untrained nets
# chaotic, and float32 rounding then grows from step to step).
G_LR, D_LR = 0.01, 0.02


def build_networks(synchronized_bn=False, init_seed=0):
    keras.utils.set_random_seed(init_seed)
    # The plain convolutions: these tests check the replicas' arithmetic (losses over
    # the global batch, summed gradients, synchronized statistics) to float32 summation
    # order. With the sub-pixel 2x2 and strided 4x4 convolutions, two replicas of batch 4
    # and one device of batch 8 ended 1.6e-5 apart on one G weight after 2 steps
    # (rounding that differs with the batch size, not yet traced to a kernel, through a
    # ReLU kink, we think); the plain path has fewer such reductions. Either way the bound
    # is relative to the step (STEP_RTOL). The rewrites equal the plain path
    # in tests/sagan_tf/layers and tests/sagan_tf/networks.
    g = sagan_tf.build_generator("sagan32", NUM_CLASSES, **TINY_G,
                                 synchronized_bn=synchronized_bn, upsample_conv="plain")
    d = sagan_tf.build_discriminator("sagan32", NUM_CLASSES, **TINY_D,
                                     pooled_conv="plain")
    # Non-zero gammas, so that the attention branches take part in every gradient.
    for net in (g, d):
        for layer in net.layers:
            if isinstance(layer, sagan_tf.layers.SelfAttention):
                layer.gamma.assign(0.3)
    return g, d


def build_model(optimizer="sgd", ema_decay=None, ema_start_step=0, d_steps=1, ema_warmup=True,
                mode_seeking=0.0, **net_kwargs):
    g, d = build_networks(**net_kwargs)
    model = SAGAN(g, d, ema_decay=ema_decay, ema_start_step=ema_start_step, seed=SEED,
                  ema_warmup=ema_warmup, mode_seeking=mode_seeking)
    if optimizer == "sgd":
        model.compile(keras.optimizers.SGD(G_LR), keras.optimizers.SGD(D_LR),
                      d_steps_per_g_step=d_steps)
    else:
        model.compile(d_steps_per_g_step=d_steps)  # the paper's TTUR Adam
    return model


def random_batch(n, seed=0):
    rng = np.random.RandomState(seed)
    images = rng.uniform(-1, 1, (n, 32, 32, 3)).astype("float32")
    labels = rng.randint(0, NUM_CLASSES, n).astype("int32")
    return tf.constant(images), tf.constant(labels)


def copy_network(net):
    clone = keras.models.clone_model(net)
    clone.set_weights(net.get_weights())  # includes the SN u vectors and BN statistics
    return clone


def assert_same_weights(actual, expected, start):
    """A network's weights after the same steps computed two ways, from the weights
    `start`. Two summation orders (the batch's mean against sums divided by the global
    batch; one device against two replicas): within STEP_RTOL of the distance the steps
    moved them, as a norm over the network (tests/tolerances.py; one element alone
    measured 1.1e-5 apart at a ReLU kink). The SN u vectors, estimates not parameters,
    element by element (a W difference that size moves u by up to
    1 / (sigma_1 - sigma_2) times as much, 2e-5 measured)."""
    paths = [w.path for w in actual.weights]
    kept = [i for i, p in enumerate(paths) if not p.endswith("sn_u")]
    got, want, before = (np.concatenate([np.ravel(ws[i]) for i in kept]).astype(np.float64)
                         for ws in (actual.get_weights(), expected.get_weights(), start))
    assert np.linalg.norm(got - want) <= STEP_RTOL * np.linalg.norm(want - before), \
        actual.name
    for path, u, v in zip(paths, actual.get_weights(), expected.get_weights()):
        if path.endswith("sn_u"):
            assert np.abs(u - v).max() < 1e-4, path

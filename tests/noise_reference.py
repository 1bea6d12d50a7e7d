"""The z of a seed computed from sagan_tf.noise's documented formula, independently of it."""

import numpy as np
import scipy.special
import tensorflow as tf


def documented_z(seed, num, latent_dim, truncation=0.0, stream=0):
    """sagan_tf.noise's docstring formula with SciPy: only the uniforms come from TF."""
    u = tf.random.stateless_uniform([num, latent_dim], seed=[seed, stream], dtype=tf.float64).numpy()
    t = truncation if truncation > 0 else np.inf
    a = scipy.special.ndtr(-t)
    z = scipy.special.ndtri(a + (u + 2.0 ** -53) * (1.0 - 2.0 * a))
    return np.clip(z, -t, t).astype(np.float32)

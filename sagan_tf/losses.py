"""SAGAN's hinge losses (Lim & Ye 2017; Tran et al. 2017), usable under `tf.distribute`.

    L_D = E[relu(1 - D(x, y))] + E[relu(1 + D(G(z), y))]
    L_G = -E[D(G(z), y)]

With `global_batch_size=None` the expectation is a plain mean over the batch given.
Under a distribution strategy each replica sees a slice of the global batch and the
optimizer sums replica gradients, so pass `global_batch_size`: the per-example losses
are summed and divided by the global batch, and the replicas' contributions add up to
the mean over the global batch.
"""

from keras import ops


def _reduce(per_example, global_batch_size):
    per_example = ops.cast(per_example, "float32")
    if global_batch_size is None:
        return ops.mean(per_example)
    return ops.sum(per_example) / global_batch_size


def discriminator_hinge_loss(real_logits, fake_logits, global_batch_size=None):
    """L_D = E[relu(1 - D(x, y))] + E[relu(1 + D(G(z), y))]."""
    real_logits = ops.cast(real_logits, "float32")
    fake_logits = ops.cast(fake_logits, "float32")
    return (_reduce(ops.relu(1.0 - real_logits), global_batch_size)
            + _reduce(ops.relu(1.0 + fake_logits), global_batch_size))


def generator_hinge_loss(fake_logits, global_batch_size=None):
    """L_G = -E[D(G(z), y)]."""
    return -_reduce(ops.cast(fake_logits, "float32"), global_batch_size)

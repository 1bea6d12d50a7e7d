"""SAGAN's hinge losses (Lim & Ye 2017; Tran et al. 2017), usable under `tf.distribute`.

    L_D = E[relu(1 - D(x, y))] + E[relu(1 + D(G(z), y))]
    L_G = -E[D(G(z), y)]

With `global_batch_size=None` the expectation is a plain mean over the batch given.
Under a distribution strategy each replica sees a slice of the global batch and the
optimizer sums replica gradients, so pass `global_batch_size`: the per-example losses
are summed and divided by the global batch, and the replicas' contributions add up to
the mean over the global batch.

Not in SAGAN: the mode-seeking term of MSGAN (Mao et al. 2019), which G may add to L_G
against a conditional generator that ignores z (one image per class):

    L_ms = 1 / (E|G(z1, y) - G(z2, y)| / E|z1 - z2| + eps)
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


#: MSGAN's eps (the authors' code): L_ms is at most 1 / eps for identical images.
MODE_SEEKING_EPS = 1e-5


def mode_seeking_loss(images, z, eps=MODE_SEEKING_EPS):
    """L_ms = 1 / (E|G(z1, y) - G(z2, y)| / E|z1 - z2| + eps) over the pairs (i, i + h),
    h = n // 2, of a batch whose second half repeats the first half's labels
    (`paired_labels`); the means are over the pairs' elements, as the authors' code
    takes them. Small when G draws different images for different z of one class."""
    n = ops.shape(images)[0]
    h = n // 2
    images = ops.cast(images, "float32")
    z = ops.cast(z, "float32")
    image_gap = ops.mean(ops.abs(images[:h] - images[h:2 * h]))
    z_gap = ops.mean(ops.abs(z[:h] - z[h:2 * h]))
    return 1.0 / (image_gap / z_gap + eps)


def paired_labels(labels):
    """`labels` with its second half replaced by a copy of its first (an odd last label
    kept), so that rows i and i + n // 2 share a class for `mode_seeking_loss`."""
    h = ops.shape(labels)[0] // 2
    return ops.concatenate([labels[:h], labels[:h], labels[2 * h:]], axis=0)

"""Standing statistics (Brock et al. 2019, BigGAN, section 3.1 and appendix C.1).

At inference a batch norm normalizes with its moving averages of the training batches'
statistics. BigGAN instead runs G `N` times in training mode on fresh noise and uses
the average of those batch statistics ("standing statistics"):

    mu_standing  = (1 / N) * sum_k mu_k
    var_standing = (1 / N) * sum_k var_k

where mu_k, var_k [C] are the batch mean and (biased) batch variance of a batch norm's
input in pass k, the statistics that training-mode batch norm normalizes with.
`apply_standing_stats` replaces the moving mean and variance of every batch norm of a
generator (those inside `ConditionalBatchNorm` included) by them, and changes nothing
else: training mode also runs the power iteration of spectral normalization, whose `u`
vectors are put back as they were, like every other variable. Only the model in memory
changes; no checkpoint is written.

Pass k draws z = rows [kB, (k + 1)B) of `noise.latents(seed, N * B, latent_dim,
stream=noise.STANDING_STATS)` and the class-balanced labels (kB + i) mod num_classes,
i = 0 .. B - 1 (every class equally often over all passes when N * B is a multiple of
the number of classes).
"""

import keras
import numpy as np

from sagan_tf import noise


def apply_standing_stats(generator, num_passes, batch_size, num_classes, seed=0):
    """Sets the moving statistics of `generator`'s batch norms to standing statistics.

    Args:
        generator: a SAGAN generator, a `keras.Model` called as `[z, labels]` (or on `z`
            alone when it has one input, for an unconditional one).
        num_passes: positive int, N, the forward passes averaged over.
        batch_size: positive int, B, images per pass (e.g. the run's `batch_size`: the
            batch G trained with).
        num_classes: the number of classes of the labels (ignored when G takes no labels).
        seed: int, the seed of the passes' noise.

    Returns:
        The number of batch norm layers updated.

    Raises:
        ValueError: for a non-positive `num_passes` or `batch_size`, or a generator
            without batch norm.
    """
    for name, value in (("num_passes", num_passes), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value!r}")
    norms = batch_norms(generator)
    if not norms:
        raise ValueError(f"The model {generator.name!r} has no batch norm layer: there are "
                         "no statistics to replace.")
    conditional = len(generator.inputs) > 1
    latent_dim = int(generator.inputs[0].shape[-1])
    z_all = noise.latents(seed, num_passes * batch_size, latent_dim,
                          stream=noise.STANDING_STATS)
    saved = [v.numpy() for v in generator.variables]
    momenta = [bn.momentum for bn in norms]
    sums = [[np.zeros(bn.moving_mean.shape, np.float64),
             np.zeros(bn.moving_variance.shape, np.float64)] for bn in norms]
    try:
        for bn in norms:
            bn.momentum = 0.0  # a training step leaves exactly its batch statistics
        for k in range(num_passes):
            z = z_all[k * batch_size:(k + 1) * batch_size]
            if conditional:
                labels = (np.arange(k * batch_size, (k + 1) * batch_size)
                          % int(num_classes)).astype(np.int32)
                generator([z, keras.ops.convert_to_tensor(labels)], training=True)
            else:
                generator(z, training=True)
            for (mean_sum, var_sum), bn in zip(sums, norms):
                mean_sum += bn.moving_mean.numpy()
                var_sum += bn.moving_variance.numpy()
    finally:
        for bn, momentum in zip(norms, momenta):
            bn.momentum = momentum
        for variable, value in zip(generator.variables, saved):
            variable.assign(value)
    for (mean_sum, var_sum), bn in zip(sums, norms):
        bn.moving_mean.assign((mean_sum / num_passes).astype(bn.moving_mean.dtype))
        bn.moving_variance.assign((var_sum / num_passes).astype(bn.moving_variance.dtype))
    return len(norms)


def batch_norms(model):
    """The `keras.layers.BatchNormalization` layers of `model` (ours are subclasses),
    nested ones included, each once, in the order they are found."""
    found, seen = [], set()

    def visit(layer):
        if id(layer) in seen:
            return
        seen.add(id(layer))
        if isinstance(layer, keras.layers.BatchNormalization):
            found.append(layer)
        children = list(getattr(layer, "layers", None) or [])
        for value in vars(layer).values():
            children += value if isinstance(value, (list, tuple)) else [value]
        for child in children:
            if isinstance(child, keras.layers.Layer):
                visit(child)

    visit(model)
    return found

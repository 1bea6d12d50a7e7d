"""Gradient accumulation: one optimizer update from the summed gradients of K
micro-batches (an effective batch of K x micro-batch at the memory of one).

SAGAN's D and G updates (`SAGAN.compile(grad_accum=K)`) run through `accumulate`:
each micro-batch's loss is already divided by the effective global batch, so the sum
of the K gradients is the gradient of the mean loss over the K micro-batches, the
update K = 1 would make on them all at once, except for what depends on the batch it
sees: batch-norm statistics are those of each micro-batch (as in BigGAN's
accumulation), and every training-mode call of a spectrally normalized layer advances
its power iteration, K times per update instead of once.

Keras' own `Optimizer(gradient_accumulation_steps=K)` accumulates across K calls of
`apply`, each counted in `optimizer.iterations`; SAGAN's step counter (and so its
noise streams and checkpoints) counts training iterations, hence this module.
"""

import tensorflow as tf


def accumulate(step, inputs, micro_batches):
    """Runs `step` on each of `micro_batches` equal slices of `inputs`, in order.

    Args:
        step: `step(m, *slices) -> (gradients, outputs)` for micro-batch m: the
            gradients (a list, None for a variable without one, `tf.IndexedSlices`
            allowed) and a nest of tensors to sum (e.g. the loss share).
        inputs: tensors split along their first axis (their length divisible by
            `micro_batches`).
        micro_batches: K, a positive integer.

    Returns:
        `(gradients, outputs)`, each summed over the K micro-batches (dense
        gradients when K > 1). With K = 1, `step(0, *inputs)` itself.

    In a graph the micro-batches run one after another: the inputs of micro-batch m
    wait for the summed gradients of micro-batch m - 1, so that the activations of
    one micro-batch are released before the next one's are made.
    """
    if micro_batches == 1:
        return step(0, *inputs)
    slices = [tf.split(x, micro_batches) for x in inputs]
    total = outputs = None
    for m in range(micro_batches):
        micro = [s[m] for s in slices]
        if total is not None:
            with tf.control_dependencies([g for g in total if g is not None]):
                micro = [tf.identity(x) for x in micro]
        grads, out = step(m, *micro)
        grads = [None if g is None else tf.convert_to_tensor(g) for g in grads]
        if total is None:
            total, outputs = grads, out
        else:
            total = [a if b is None else b if a is None else a + b
                     for a, b in zip(total, grads)]
            outputs = tf.nest.map_structure(tf.add, outputs, out)
    return total, outputs


def global_norm(grads, optimizer):
    """||grads||_2 over all variables, in units of the loss: divided by the loss scale
    when `optimizer` is a `keras.optimizers.LossScaleOptimizer` (the gradients are
    then those of the scaled loss; an overflowing step gives inf)."""
    grads = [tf.cast(tf.convert_to_tensor(g), "float32") for g in grads if g is not None]
    norm = tf.linalg.global_norm(grads)
    scale = getattr(optimizer, "dynamic_scale", None)
    return norm if scale is None else norm / tf.cast(scale, "float32")

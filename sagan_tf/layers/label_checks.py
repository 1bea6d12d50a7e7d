"""Argument checks shared by the class-conditional layers and networks, and the class
ids they index their per-class tables with (`class_ids`)."""

import numbers

from keras import ops


def check_positive_int(value, name):
    """Returns `value` as an int; raises unless it is a positive integer.

    Python and NumPy integers pass; bools (`True` is 1 to Python), floats (even 10.0),
    strings and None do not.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"`{name}` must be a positive integer. Received: {name}={value}")
    return int(value)


def check_num_classes(num_classes):
    """Returns `num_classes` as an int; raises unless it is a positive integer."""
    return check_positive_int(num_classes, "num_classes")


def check_labels_shape(shape):
    """Raises unless `shape` is that of a 1D tensor of class ids."""
    if len(shape) != 1:
        raise ValueError("`labels` must be a 1D int tensor [batch] of class ids. "
                         f"Received: labels shape={tuple(shape)}")


def class_ids(labels, num_classes):
    """`labels` as int64 indices for `ops.take(table, ids, axis=0)` on a table of
    `num_classes` rows, with every label outside `[0, num_classes)` out of range.

    `ops.take` follows NumPy: a negative index counts from the end, so a label of -1
    would silently read the last class's row (on TF it adds the table's size to
    negative indices before `tf.gather`). A label of `num_classes` is refused by
    `tf.gather` ("indices[1] = 10 is not in [0, 10)"); a negative label c is shifted to
    c - num_classes, which `ops.take` moves back to c, so `tf.gather` sees the label
    itself and refuses it the same way ("indices[1] = -1 is not in [0, 10)"). The
    error names the offending label and the valid range and fires wherever the gather
    runs: eagerly, in a `tf.function`, in `fit`.

    Why not an assertion: layers use keras.ops only, which has no runtime assert, and
    a data-dependent check built from keras.ops (a reshape to a computed shape, say)
    would copy a value to the host on every call and cannot compile under XLA. The
    shift costs two elementwise ops on [N] and leaves valid labels unchanged (same
    rows, same gradients).

    Where the gather itself does not check its indices the labels are not checked
    either: `tf.gather` on GPU writes zeros for an out-of-range index, and under XLA
    (`jit_compile`, Keras' default for `fit` on GPU) indices are clamped into range.
    There only an explicit check outside the layers (the data pipeline, the export's
    in-graph assertions) refuses them.

    The cast is to int64, not int32, so a large int64 label cannot wrap into range.
    """
    ids = ops.cast(labels, "int64")
    return ops.where(ids < 0, ids - num_classes, ids)


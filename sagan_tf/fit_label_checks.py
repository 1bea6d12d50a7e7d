"""`SAGAN.fit`'s labels must be integer class ids.

The networks declare their labels input int32, and Keras casts what it is given to
that dtype: float labels (3.7) would train silently as class 3. `fit` refuses them by
name before the first step, from the data's dtype (no value is read)."""

import numpy as np
import tensorflow as tf


def check_fit_labels(x, y=None):
    """Raises ValueError if the labels that `fit` would take from `x` (a `tf.data`
    dataset of `(images, labels)`, or a tuple) or `y` are not integers."""
    dtype = _labels_dtype(x, y)
    if dtype is not None and not (dtype.is_integer and not dtype.is_bool):
        raise ValueError(
            "`labels` must be integer class ids (int32 or int64). Received: labels of "
            f"dtype {dtype.name}: Keras would cast them to int32, and a label of 3.7 would "
            "train as class 3. Fix the data, or cast labels that are whole numbers with "
            "`tf.cast(labels, tf.int32)` in the input pipeline.")


def _labels_dtype(x, y):
    if y is not None:
        return tf.as_dtype(np.asarray(y).dtype if not hasattr(y, "dtype") else y.dtype)
    if isinstance(x, tf.data.Dataset):
        spec = x.element_spec
    elif isinstance(x, (tuple, list)) and len(x) == 2:
        spec = x
    else:
        return None
    if not isinstance(spec, (tuple, list)) or len(spec) != 2:
        return None
    labels = spec[1]
    dtype = getattr(labels, "dtype", None)
    if dtype is None:
        dtype = np.asarray(labels).dtype
    return tf.as_dtype(dtype)

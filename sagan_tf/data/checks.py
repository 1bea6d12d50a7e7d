"""Argument checks of `sagan_tf.data.load_dataset`, shared by the sources.

Each raises a `ValueError` in Keras style: what is wrong, then `Received: name=value`.
"""

import operator


class ChannelsError(ValueError):
    """Images of `found` channels that the `image_channels` asked for cannot be made
    of (the programs say which of their flags to pass)."""

    def __init__(self, message, found):
        super().__init__(message)
        self.found = found

#: Splits accepted for folders and arrays, which have no splits: both mean all examples.
WHOLE_SPLITS = ("train", "all")


def as_int(value, name):
    """`value` as a Python int (bools are rejected)."""
    if isinstance(value, bool):
        raise ValueError(f"`{name}` must be an int. Received: {name}={value!r}")
    try:
        return operator.index(value)
    except TypeError:
        raise ValueError(f"`{name}` must be an int. Received: {name}={value!r}") from None


def positive_int(value, name):
    """`value` as a positive Python int (bools are rejected)."""
    if isinstance(value, bool):
        value_ok = None
    else:
        try:
            value_ok = operator.index(value)
        except TypeError:
            value_ok = None
    if value_ok is None or value_ok <= 0:
        raise ValueError(f"`{name}` must be a positive int. Received: {name}={value!r}")
    return value_ok


def check_on_corrupt(on_corrupt):
    if on_corrupt not in ("skip", "raise"):
        raise ValueError(f'`on_corrupt` must be "skip" or "raise". Received: '
                         f"on_corrupt={on_corrupt!r}")


def check_split_type(split):
    if not isinstance(split, str):
        raise ValueError(f"`split` must be a string. Received: split={split!r}")


def check_source_arguments(kind, *, labels, value_range, image_key, label_key):
    """Rejects the arguments that only another kind of source uses."""
    if kind != "arrays" and labels is not None:
        raise ValueError("`labels` is only used when `source` is an images array; "
                         f"got labels with a {kind} source.")
    if kind not in ("arrays", "numpy_file") and value_range is not None:
        raise ValueError("`value_range` is only used when `source` is NumPy arrays or a "
                         "NumPy file; "
                         f"got value_range={value_range!r} with a {kind} source.")
    if kind != "tfds" and (image_key is not None or label_key is not None):
        raise ValueError("`image_key` and `label_key` are only used for TFDS datasets.")


def check_num_classes(requested, actual, what):
    """`requested` (the `num_classes` argument, or None) must equal the source's count
    (`actual`; None for a source without classes)."""
    if requested is not None and actual is None:
        raise ValueError(f"`num_classes`={requested} but {what} has no classes (it is read "
                         "as unconditional data). Pass num_classes=None.")
    if requested is not None and requested != actual:
        raise ValueError(f"`num_classes`={requested} does not match {what}, which has "
                         f"{actual} classes. Pass num_classes=None or num_classes={actual}.")


def check_whole_split(split, what):
    """Folders and arrays accept only the splits of `WHOLE_SPLITS`."""
    if split not in WHOLE_SPLITS:
        raise ValueError(
            f"Unknown split for {what}: split={split!r}. Folders and arrays have no splits: "
            f"use split='train' or split='all' (all of their examples), and pass held-out "
            "data as a source of its own.")


def check_num_examples(num_examples, *, kind, split, global_batch_size, drop_remainder):
    """The source must have examples, and at least one full batch with `drop_remainder`."""
    if num_examples == 0:
        raise ValueError(f"The {kind} source has no examples (split={split!r}).")
    if drop_remainder and global_batch_size > num_examples:
        raise ValueError(
            f"`global_batch_size` ({global_batch_size}) is larger than the number of "
            f"examples ({num_examples}), so with drop_remainder=True not one batch could be "
            "made. Use a smaller global_batch_size or pass drop_remainder=False.")

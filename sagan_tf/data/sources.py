"""The data sources, in one table: `SOURCES`.

Each row says which `--dataset` values (or Python objects) it claims and how it reads
them. `find_source(value)` picks the row: a value listed in a row's `names` is that
row's; otherwise exactly one row's `claims(value)` must be true (none: an error that
lists what each source reads; several: an error naming them). The order of the rows
does not matter. `load_dataset`, the evaluation's real images, the domain classifier's
splits, the help of `--dataset` and docs/data.md all read this table.

To add a source: a module with its reader, one row here (see docs/CONTRIBUTING.md).
"""

import dataclasses
import os
import re
from typing import Callable

import numpy as np
import tensorflow as tf

from sagan_tf.data import arrays, checks, digits, folder, numpy_file, tfds_source


@dataclasses.dataclass(frozen=True)
class Source:
    """One data source.

    Attributes:
        name: its name (also the `kind` in error messages).
        claims: `claims(value) -> bool`, whether a `--dataset` value (or a Python
            object given to `load_dataset`) is this source's.
        read: `read(value, args) -> (source, num_classes, class_names, num_skipped)`,
            where `args` holds `load_dataset`'s arguments and `source` is a
            `sagan_tf.data.pipeline` source (`num_classes` None: no classes).
        help: what values it claims, one sentence (the `--dataset` help, docs/data.md).
        names: exact values claimed; they win over any other row's `claims`.
        eval_split: the split of real images an evaluation compares with by default.
        test_split: the held-out split a domain classifier is scored on (None: none).
        arrays: `arrays(split, resolution) -> (images, labels)` for a source held in
            memory in a fixed order (evaluations read it whole), else None.
        train_fraction: whether it reads `train_fraction` < 1.
        flag: whether `--dataset` can name it (False: Python objects only).
    """

    name: str
    claims: Callable[[object], bool]
    read: Callable
    help: str
    names: tuple = ()
    eval_split: str = "train"
    test_split: str | None = "test"
    arrays: Callable | None = None
    train_fraction: bool = False
    flag: bool = True


def _is_path_like(value):
    return isinstance(value, str) and ("://" in value or value.startswith(("/", ".", "~"))
                                       or value.endswith("/"))


def _is_dir(value):
    return isinstance(value, str) and tf.io.gfile.isdir(os.path.expanduser(value))


def _claims_folder(value):
    """An existing directory; a URL, a local path ("/...", "./...", "~...", ".../") or
    an os.PathLike whose last part is not a file name with an extension (`./x.npz` is
    not a folder)."""
    path_like = isinstance(value, os.PathLike)
    if path_like:
        value = os.fspath(value)
    if _is_dir(value):
        return True
    return ((path_like and isinstance(value, str)) or _is_path_like(value)) and (
        not os.path.splitext(value.rstrip("/"))[1])


_TFDS_NAME = re.compile(r"^[A-Za-z0-9_]+(/[A-Za-z0-9_.\-]+)?(:[0-9.*]+)?$")


def _claims_tfds(value):
    """`name`, `name/config`, `name:1.2.3` that is not a directory here (pass a folder
    of that name as ./name) nor a NumPy file name (`data/x.npz`)."""
    return (isinstance(value, str) and bool(_TFDS_NAME.match(value)) and not _is_dir(value)
            and not numpy_file.is_numpy_file_name(value))


def _claims_numpy_file(value):
    """A str or os.PathLike ending in .npy or .npz that is not a directory here."""
    return (numpy_file.is_numpy_file_name(value)
            and not _is_dir(os.fspath(value) if isinstance(value, os.PathLike) else value))


def _claims_arrays(value):
    return isinstance(value, (tuple, np.ndarray))


def _read_digits(value, a):
    del value
    digits.check_digits_split(a.split)
    checks.check_num_classes(a.num_classes, digits.NUM_DIGIT_CLASSES, "the digits dataset")
    return (digits.digits_source(a.split, a.train_fraction), digits.NUM_DIGIT_CLASSES,
            digits.DIGIT_CLASS_NAMES, 0)


def _read_folder(value, a):
    path = folder.check_folder(
        os.fspath(value) if isinstance(value, os.PathLike) or "://" in value
        else os.path.expanduser(value))  # `~` means nothing in a URL
    checks.check_whole_split(a.split, f"the folder {value!r}")
    paths, labels, class_names, num_skipped = folder.scan_folder(
        path, on_corrupt=a.on_corrupt, validate=a.validate_images,
        unconditional=a.unconditional)
    n_classes = len(class_names) if class_names else None
    checks.check_num_classes(a.num_classes, n_classes, f"the folder {value!r}")
    return folder.folder_source(paths, labels), n_classes, class_names or (), num_skipped


def _read_arrays(value, a):
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ValueError("An arrays `source` must be a pair (images, labels). Received a "
                             f"tuple of length {len(value)}.")
        if a.labels is not None:
            raise ValueError("Pass labels either in `source=(images, labels)` or as "
                             "`labels=`, not both.")
        images, labels = value
    else:  # an images array, with `labels=` or without (unconditional)
        images, labels = value, a.labels
    return _from_arrays(images, labels, a.value_range, a, "NumPy arrays")


def _read_numpy_file(value, a):
    path = os.fspath(value)
    images, labels, value_range = numpy_file.read_numpy_file(path)
    if value_range is not None and a.value_range is not None and (
            tuple(a.value_range) != value_range):
        raise ValueError(f"`value_range` must be the file's, {value_range}, or None. "
                         f"Received: value_range={a.value_range!r} for {path!r}")
    value_range = value_range or a.value_range
    if value_range is None and np.issubdtype(images.dtype, np.floating):
        raise ValueError(
            f"`value_range` must be known for the {images.dtype} images of {path!r}: "
            "save them in a .npz with value_range=np.array([0, 1]) (or [-1, 1]), as "
            "uint8 (0..255), or pass load_dataset(..., value_range=(0, 1)) in Python. "
            "Received: value_range=None")
    return _from_arrays(images, labels, value_range, a, f"the file {path!r}")


def _from_arrays(images, labels, value_range, a, what):
    """The arrays source of `images` and `labels` (None: no classes), checked."""
    checks.check_whole_split(a.split, what)
    images, labels, value_range, n_classes = arrays.check_arrays(
        np.asarray(images), None if labels is None else np.asarray(labels),
        value_range, a.num_classes, a.image_channels)
    class_names = () if n_classes is None else tuple(str(i) for i in range(n_classes))
    source = arrays.array_source(images, labels, value_range=value_range,
                                 image_channels=a.image_channels)
    return source, n_classes, class_names, 0


def _read_tfds(value, a):
    source, n_classes, class_names = tfds_source.tfds_source(
        value, split=a.split, data_dir=a.data_dir, download=a.download, shuffle=a.shuffle,
        shuffle_buffer=a.shuffle_buffer, seed=a.seed, image_key=a.image_key,
        label_key=a.label_key, unconditional=a.unconditional)
    checks.check_num_classes(a.num_classes, n_classes, f"the TFDS dataset {value!r}")
    return source, n_classes, class_names, 0


SOURCES = (
    Source("digits", lambda value: False, _read_digits,
           "'digits': scikit-learn's 8x8 handwritten digits (10 classes, no download)",
           names=("digits",), eval_split="test", arrays=digits.digits_arrays,
           train_fraction=True),
    Source("folder", _claims_folder, _read_folder,
           "a folder (a local path or a URL such as gs://bucket/images) with one "
           "sub-folder of images per class, or the images directly inside "
           "(unconditional)", test_split=None),
    Source("tfds", _claims_tfds, _read_tfds,
           "a TensorFlow Datasets name ('name', 'name/config', 'name:1.2.3') with an "
           "image and a class label (or no label: unconditional)"),
    Source("numpy_file", _claims_numpy_file, _read_numpy_file,
           "a NumPy file (a local path or a URL) ending in .npy (an images array, "
           "unconditional) or .npz (arrays 'images', optional 'labels' and "
           "'value_range')", test_split=None),
    Source("arrays", _claims_arrays, _read_arrays,
           "(Python only) a pair (images, labels) of NumPy arrays, or an images array",
           test_split=None, flag=False),
)

#: The sources that read `train_fraction` < 1, for the messages that refuse it.
TRAIN_FRACTION_SOURCES = " or ".join(repr(s.name) for s in SOURCES if s.train_fraction)
#: Which split an evaluation reads by default, for the help of the split flags.
EVAL_SPLITS_HELP = ", ".join(f"{s.eval_split!r} for {s.name}" for s in SOURCES if s.flag)
#: The help of every `--dataset` flag.
DATASET_HELP = "One of: " + "; ".join(s.help for s in SOURCES if s.flag) + "."


def reads_train_fraction(value):
    """Whether the source of `value` reads `train_fraction` < 1 (False if none claims it)."""
    try:
        return find_source(value).train_fraction
    except (ValueError, TypeError):
        return False


def find_source(value):
    """The row of `SOURCES` that reads `value` (see the module docstring).

    Raises:
        ValueError: no row, or several, claim a string.
        TypeError: no row claims a value of another type.
    """
    if isinstance(value, str):
        for source in SOURCES:
            if value in source.names:
                return source
    claimed = [source for source in SOURCES if source.claims(value)]
    if len(claimed) == 1:
        return claimed[0]
    if claimed:
        raise ValueError(f"The data {value!r} is claimed by several sources: "
                         f"{[s.name for s in claimed]}. Pass an unambiguous value "
                         "(e.g. ./name for a folder).")
    if not isinstance(value, str):
        raise TypeError("`source` must be 'digits', a directory path, a .npy or .npz file, "
                        "a TFDS name or a tuple (images, labels) of NumPy arrays. "
                        "Received: source of type "
                        f"{type(value).__name__}")
    is_file = _is_path_like(value) and tf.io.gfile.exists(os.path.expanduser(value))
    raise ValueError(f"No data source reads {value!r}"
                     f"{' (a file, not a directory)' if is_file else ''}. {DATASET_HELP}")

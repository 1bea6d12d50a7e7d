"""The image-folder source: `root/<class_name>/**/<image>`, on any TensorFlow filesystem.

A folder with images directly inside and no sub-folders, `root/<image>`, has no classes:
it is unconditional data (every label 0), as is any folder read with `unconditional=True`
(every image under `root`, in sub-folders or not).

Every file-system access goes through `tf.io.gfile` (and the files are read with
`tf.io.read_file`), so that `root` may be a local directory or a URL such as
`gs://bucket/images`, `s3://...` or TensorFlow's in-memory `ram://...`.
"""

import logging
import os

import numpy as np
import tensorflow as tf

from sagan_tf.data import pipeline

logger = logging.getLogger(__name__)

#: File extensions (lower case) read from image folders.
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp")

_MAX_PATHS_SHOWN = 5


def check_folder(path):
    """Returns `path` if it is an existing directory, else raises a `ValueError`."""
    if not tf.io.gfile.exists(path):
        raise ValueError(f"Image folder {path!r} does not exist. Pass an existing directory "
                         "holding one sub-folder of images per class (or, for an "
                         "unconditional model, the images themselves).")
    if not tf.io.gfile.isdir(path):
        raise ValueError(f"Image folder {path!r} is not a directory. Pass a directory "
                         "holding one sub-folder of images per class (or, for an "
                         "unconditional model, the images themselves).")
    return path


def scan_folder(root, *, on_corrupt, validate, unconditional=False):
    """Lists class sub-folders and images; finds undecodable files. Returns
    (paths, labels, class_names, num_skipped); class_names is None for unconditional
    data (a folder of images without sub-folders, or `unconditional=True`), whose
    labels are all 0."""
    class_names = None if unconditional else _class_names(root)
    paths, labels = [], []
    if class_names is None:
        paths = _image_files(root)
        labels = [0] * len(paths)
        if not paths:
            raise ValueError(f"Image folder {root!r} has no image files (extensions "
                             f"{', '.join(IMAGE_EXTENSIONS)}).")
    for label, name in enumerate(class_names or ()):
        found = _image_files(os.path.join(root, name))
        if not found:
            logger.warning("Class sub-folder %r has no images.", os.path.join(root, name))
        paths.extend(found)
        labels.extend([label] * len(found))
    if not paths:
        raise ValueError(
            f"Image folder {root!r} has class sub-folders {class_names} but no image files "
            f"in them (extensions {', '.join(IMAGE_EXTENSIONS)}).")

    num_skipped = 0
    if validate:
        bad = _undecodable(paths)
        if bad:
            if on_corrupt == "raise":
                shown = "\n".join(f"  {paths[i]}: {_decode_error(paths[i])}"
                                  for i in bad[:_MAX_PATHS_SHOWN])
                more = (f"\n  ... and {len(bad) - _MAX_PATHS_SHOWN} more"
                        if len(bad) > _MAX_PATHS_SHOWN else "")
                raise ValueError(
                    f"{len(bad)} image file(s) under {root!r} could not be read or decoded:"
                    f"\n{shown}{more}\nRemove or fix them, or pass on_corrupt='skip' to "
                    "leave them out.")
            logger.warning(
                "Skipped %d corrupt or unreadable image file(s) under %r, e.g. %s",
                len(bad), root, ", ".join(repr(paths[i]) for i in bad[:_MAX_PATHS_SHOWN]))
            bad_set = set(bad)
            keep = [i for i in range(len(paths)) if i not in bad_set]
            paths = [paths[i] for i in keep]
            labels = [labels[i] for i in keep]
            num_skipped = len(bad)
            if not paths:
                raise ValueError(f"None of the image files under {root!r} could be read or "
                                 "decoded.")
    return (paths, np.asarray(labels, np.int32),
            None if class_names is None else tuple(class_names), num_skipped)


def folder_source(paths, labels):
    """Index-based source over image files (the shuffle buffer holds indices only)."""
    paths_t = tf.constant(paths, tf.string)
    labels_t = tf.constant(labels, tf.int32)

    def to_example(i):
        image = _decode_file(tf.gather(paths_t, i))
        return pipeline.to_unit_range(image, (0, 255)), tf.gather(labels_t, i)

    return pipeline.index_source(len(paths), to_example)


def _entry_name(entry):
    # Object stores (gs://) list sub-directories with a trailing "/".
    return entry.rstrip("/")


def _class_names(root):
    """The sorted, non-hidden sub-folder names of `root`; None when it has none but holds
    images (unconditional data)."""
    entries = sorted(_entry_name(e) for e in tf.io.gfile.listdir(root)
                     if not e.startswith("."))
    if not entries:
        raise ValueError(
            f"Image folder {root!r} is empty. Put the images in one sub-folder per class, "
            f"e.g. {os.path.join(root, 'cat', '0001.png')!r}, or directly in it for an "
            "unconditional model.")
    class_names = [e for e in entries if tf.io.gfile.isdir(os.path.join(root, e))]
    loose = [e for e in entries if e not in class_names
             and os.path.splitext(e)[1].lower() in IMAGE_EXTENSIONS]
    if not class_names:
        if loose:
            return None
        raise ValueError(
            f"Image folder {root!r} has neither class sub-folders nor image files "
            f"(extensions {', '.join(IMAGE_EXTENSIONS)}). Put the images in one sub-folder "
            f"per class, e.g. {os.path.join(root, 'cat', '0001.png')!r}, or directly in it "
            "for an unconditional model.")
    if loose:
        logger.warning(
            "Image folder %r has class sub-folders %s and also %d image file(s) directly "
            "inside, which are left out (they have no class); pass unconditional=True "
            "(--unconditional) to train on every image without classes.", root,
            class_names[:5], len(loose))
    return class_names


def _image_files(directory):
    """Sorted paths of the image files under `directory`, hidden files and folders left out."""
    return sorted(_walk_image_files(directory))


def _walk_image_files(directory):
    # Own recursion over listdir/isdir: `tf.io.gfile.walk` does not document pruning (of
    # hidden folders), and an entry listed with a trailing "/" needs no isdir request.
    for entry in tf.io.gfile.listdir(directory):
        name = _entry_name(entry)
        if name.startswith("."):
            continue
        path = os.path.join(directory, name)
        if entry.endswith("/") or tf.io.gfile.isdir(path):
            yield from _walk_image_files(path)
        elif os.path.splitext(name)[1].lower() in IMAGE_EXTENSIONS:
            yield path


def _decode_file(path):
    """Reads and decodes one image file to uint8 [H, W, 3] (the pipeline's decoder)."""
    image = tf.io.decode_image(tf.io.read_file(path), channels=3, expand_animations=False)
    image.set_shape([None, None, 3])
    return image


def _undecodable(paths):
    """Indices of the files that `_decode_file` fails on, decoding all files in parallel."""
    ds = tf.data.Dataset.from_tensor_slices(tf.constant(paths, tf.string)).enumerate()
    ds = ds.map(lambda i, p: (i, tf.shape(_decode_file(p))[0]),
                num_parallel_calls=tf.data.AUTOTUNE, deterministic=False)
    ds = ds.ignore_errors().batch(4096)
    ok = np.zeros(len(paths), bool)
    for indices, _ in ds.as_numpy_iterator():
        ok[indices] = True
    return [int(i) for i in np.flatnonzero(~ok)]


def _decode_error(path):
    """TensorFlow's reason for failing to read or decode one file (for error messages)."""
    try:
        _decode_file(tf.constant(path))
    except (tf.errors.OpError, OSError) as e:  # pragma: no branch
        message = getattr(e, "message", str(e)).strip().splitlines()
        return message[0] if message else type(e).__name__
    return "decoded on retry (was it changed?)"

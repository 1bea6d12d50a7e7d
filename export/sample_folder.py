"""Folders of PNG samples for other tools (clean-fid, torch-fidelity, a person):
`sagan-sample --num_images=N --output_dir=DIR`.

    DIR/
      sagan_sample.json            what the images are of: the source, seed, truncation,
                                   batch size (a resumed run must match it)
      class_<k>/seed<S>_<i>.png    a conditional model: image i has class i % num_classes
      seed<S>_<i>.png              an unconditional model: no sub-folders

with <i> the image's index, six digits at least (`seed0_000123.png`). Image i is
made from row i of `sagan_tf.noise.latents(seed, ., latent_dim, truncation)` (the z
that `generate(seed=S)` and the sample sheets use: row i depends only on (seed, i))
and its label, quantized as `sagan_tf.grid.to_uint8`.

Resumable: the images already in DIR are kept and not made again, and the others are
written. Each PNG is written to a temporary name and renamed (`storage.write_atomically`),
so a file with its final name is complete; the temporary files a killed run leaves
are deleted when the next run starts. Images are generated in aligned batches (image i
in batch i // batch_size, each batch full, z rows past N included), so every image is
computed in the same batch whether the folder is written in one run or several, and a
resumed run writes the same bytes as a single one. Any TF filesystem (gs://, ram://).
One run at a time per folder.
"""

import re
import sys

import numpy as np
from keras.utils import Progbar

from sagan_tf import compat, storage
from sagan_tf import grid as grid_lib

MANIFEST_FILE = "sagan_sample.json"


def class_folder(label):
    """The sub-folder of class `label`."""
    return f"class_{label}"


def image_name(seed, index):
    """The file name of image `index` of `seed`."""
    return f"seed{seed}_{index:06d}.png"


def image_path(output_dir, seed, index, label=None):
    """Where image `index` goes (label None: an unconditional model)."""
    if label is None:
        return storage.join(output_dir, image_name(seed, index))
    return storage.join(output_dir, class_folder(label), image_name(seed, index))


def write_sample_folder(sampler, output_dir, num_images, seed=0, truncation=0.0,
                        source=None, progress=True):
    """Writes the images of `num_images` indices that `output_dir` lacks.

    Args:
        sampler: an `export.sampling.Sampler` (its `batch_size` is the batch).
        output_dir: the folder (created if needed; any TF filesystem).
        num_images: N, the images 0 .. N - 1.
        seed: the noise seed.
        truncation: > 0 truncates z to [-truncation, truncation].
        source: JSON-serializable description of the model, kept in the manifest.
        progress: show a progress bar counting the images written.

    Returns:
        (written, kept): how many images were written and how many were there.

    Raises:
        ValueError: a bad argument, or `output_dir` holds samples made with another
            source, seed, truncation or batch size.
    """
    if isinstance(num_images, bool) or not isinstance(num_images, int) or num_images < 1:
        raise ValueError("`num_images` must be a positive integer. "
                         f"Received: num_images={num_images}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ValueError(f"`seed` must be an integer. Received: seed={seed}")
    _check_manifest(output_dir, {
        "seed": seed, "truncation": float(truncation), "batch_size": sampler.batch_size,
        "latent_dim": sampler.latent_dim, "num_classes": sampler.num_classes,
        "class_folders": [class_folder(k) for k in range(sampler.num_classes or 0)],
        "source": source})
    existing = _existing_images(output_dir, seed, sampler.num_classes)
    missing = [i for i in range(num_images) if i not in existing]
    kept = num_images - len(missing)
    if progress:
        print(f"{output_dir}: {kept} of {num_images} images there, writing {len(missing)}",
              flush=True)
    if not missing:
        return 0, kept
    batch = sampler.batch_size
    batches = sorted({i // batch for i in missing})
    # Every batch is full (rows past N too), so image i's batch never depends on N.
    rows = (batches[-1] + 1) * batch
    z = sampler.latents(seed, rows, truncation)
    all_labels = _labels(sampler, rows)
    progbar = _progbar(len(missing)) if progress else None
    written = 0
    missing_set = set(missing)
    for b in batches:
        lo, hi = b * batch, (b + 1) * batch
        images = grid_lib.to_uint8(sampler.images(
            z[lo:hi], None if all_labels is None else all_labels[lo:hi]))
        for i in range(lo, min(hi, num_images)):
            if i in missing_set:
                grid_lib.save_png(images[i - lo],
                                  image_path(output_dir, seed, i, None if all_labels is None
                                             else int(all_labels[i])))
                written += 1
        if progbar:
            progbar.update(written)
    return written, kept


def _labels(sampler, num):
    """The class of each index (i % num_classes), None for an unconditional model."""
    if not sampler.conditional:
        return None
    return (np.arange(num) % sampler.num_classes).astype(np.int32)


def _existing_images(output_dir, seed, num_classes):
    """Indices whose image is in `output_dir`; deletes temporary files left by a
    killed run (`storage.write_atomically` names them `<file>.tmp-<pid>`)."""
    folders = ([output_dir] if num_classes is None else
               [storage.join(output_dir, class_folder(k)) for k in range(num_classes)])
    pattern = re.compile(rf"seed{re.escape(str(seed))}_(\d{{6,}})\.png(\.tmp-\d+)?$")
    found = set()
    for folder in folders:
        if not storage.isdir(folder):
            continue
        for name in storage.listdir(folder):
            match = pattern.match(name)
            if not match:
                continue
            if match.group(2):
                storage.remove(storage.join(folder, name))
            else:
                found.add(int(match.group(1)))
    return found


def _check_manifest(output_dir, manifest):
    path = storage.join(output_dir, MANIFEST_FILE)
    if storage.exists(path):
        before = storage.read_json(path)
        differ = sorted(k for k in set(before) | set(manifest)
                        if before.get(k) != manifest.get(k))
        if differ:
            raise ValueError(
                f"{output_dir!r} holds samples made with other settings ("
                + ", ".join(f"{k}: {before.get(k)!r} there, {manifest.get(k)!r} now"
                            for k in differ)
                + "). Resume with the same settings, or pass another --output_dir.")
        return
    storage.write_json(path, manifest)


def _progbar(target):
    interactive = hasattr(sys.stdout, "isatty") and sys.stdout.isatty()
    progbar = Progbar(target, unit_name="image", interval=0.05 if interactive else 10.0)
    if not interactive:
        compat.progbar_whole_lines(progbar)  # whole lines in a log file
    return progbar

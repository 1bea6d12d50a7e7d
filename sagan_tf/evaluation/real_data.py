"""The real images of an evaluation, and the labelled data the domain classifier learns.

For `digits` the fixed split of `sagan_tf.data.digits_arrays` in its order (default:
the held-out test split, 359 images); for other datasets `load_dataset` of the split
(default "train"), shuffled with the seed, one pass.
"""

from sagan_tf import data

DIGITS = "digits"


def default_real_split(dataset):
    return "test" if dataset == DIGITS else "train"


def real_batches(dataset, resolution, batch_size, split=None, data_dir=None, seed=0):
    """Batches `(images, labels)` of real images for the metrics."""
    split = split or default_real_split(dataset)
    if dataset == DIGITS:
        images, labels = data.digits_arrays(split, resolution)
        return [(images[i:i + batch_size], labels[i:i + batch_size])
                for i in range(0, len(images), batch_size)]
    batches, _ = data.load_dataset(dataset, resolution=resolution, global_batch_size=batch_size,
                                   split=split, data_dir=data_dir, shuffle=True, seed=seed,
                                   repeat=False, drop_remainder=False)
    return batches


def labelled_data(dataset, split, resolution, data_dir=None, seed=None):
    """`(images, labels)` arrays (digits) or a dataset of batches of a split; shuffled
    with `seed` unless it is None."""
    if dataset == DIGITS:
        return data.digits_arrays(split, resolution)
    batches, _ = data.load_dataset(dataset, resolution=resolution, global_batch_size=32,
                                   split=split, data_dir=data_dir, shuffle=seed is not None,
                                   seed=seed, repeat=False, drop_remainder=False)
    return batches


class CountingBatches:
    """Iterates `batches`, counting the images it hands out."""

    def __init__(self, batches):
        self._batches = batches
        self.count = 0

    def __iter__(self):
        for batch in self._batches:
            self.count += int(batch[0].shape[0])
            yield batch

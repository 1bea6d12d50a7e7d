"""The real images of an evaluation, and the labelled data the domain classifier learns.

The default split is the source's `eval_split` (`sagan_tf.data.sources.SOURCES`: for
`digits` the held-out test split, 359 images; "train" for the others). A source held in
memory in a fixed order (`arrays`: digits) is read whole in its order; others through
`load_dataset` of the split, shuffled with the seed, one pass, with the channels and the
crop of the run they are compared with (`read_as`).
"""

from sagan_tf import data
from sagan_tf.data.sources import find_source


def default_real_split(dataset):
    """The split an evaluation compares with when none is given."""
    return find_source(dataset).eval_split


def default_test_split(dataset):
    """The held-out split a domain classifier is scored on (None: the source has none)."""
    return find_source(dataset).test_split


def read_as(config):
    """`image_channels` and `crop` of a run's `TrainConfig` (None: the defaults), for
    `real_batches`, `labelled_data` and `load_eval_classifier`: real images as the run
    saw them (a 4-band run's domain classifier learns 4 bands)."""
    if config is None:
        return {}
    return dict(image_channels=config.image_channels, crop=config.crop)


def real_batches(dataset, resolution, batch_size, split=None, data_dir=None, seed=0,
                 image_channels=3, crop="center"):
    """Batches `(images, labels)` of real images for the metrics."""
    split = split or default_real_split(dataset)
    in_memory = find_source(dataset).arrays
    if in_memory is not None:
        images, labels = in_memory(split, resolution)
        return [(images[i:i + batch_size], labels[i:i + batch_size])
                for i in range(0, len(images), batch_size)]
    batches, _ = data.load_dataset(dataset, resolution=resolution, global_batch_size=batch_size,
                                   split=split, data_dir=data_dir, shuffle=True, seed=seed,
                                   repeat=False, drop_remainder=False,
                                   image_channels=image_channels, crop=crop)
    return batches


def labelled_data(dataset, split, resolution, data_dir=None, seed=None, image_channels=3,
                  crop="center"):
    """`(images, labels)` arrays (digits) or a dataset of batches of a split; shuffled
    with `seed` unless it is None."""
    in_memory = find_source(dataset).arrays
    if in_memory is not None:
        return in_memory(split, resolution)
    batches, _ = data.load_dataset(dataset, resolution=resolution, global_batch_size=32,
                                   split=split, data_dir=data_dir, shuffle=seed is not None,
                                   seed=seed, repeat=False, drop_remainder=False,
                                   image_channels=image_channels, crop=crop)
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

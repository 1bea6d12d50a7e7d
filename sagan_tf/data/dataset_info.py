"""`DatasetInfo`: what `sagan_tf.data.load_dataset` loaded."""

import dataclasses


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    """What `load_dataset` loaded.

    Attributes:
        num_classes: Number of classes; labels lie in `[0, num_classes)`. None for
            unconditional data (no classes; every label is 0).
        num_examples: Examples in one epoch (after skipping corrupt files). With
            `drop_remainder=True` and `repeat=False` the last partial batch is not yielded.
        class_names: Name of each class, indexed by label (empty when unconditional).
        image_shape: Shape of one image, `(resolution, resolution, image_channels)`.
        num_skipped: Number of image files skipped as corrupt or unreadable (folders only).
    """

    num_classes: int | None
    num_examples: int
    class_names: tuple
    image_shape: tuple
    num_skipped: int = 0

    @property
    def unconditional(self):
        """Whether the data has no classes (for an unconditional model)."""
        return self.num_classes is None

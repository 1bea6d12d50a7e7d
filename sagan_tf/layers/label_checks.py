"""Argument checks shared by the class-conditional layers and networks."""


def check_num_classes(num_classes):
    """Raises unless `num_classes` is a positive int."""
    if not isinstance(num_classes, int) or num_classes < 1:
        raise ValueError(f"`num_classes` must be positive. Received: num_classes={num_classes}")


def check_labels_shape(shape):
    """Raises unless `shape` is that of a 1D tensor of class ids."""
    if len(shape) != 1:
        raise ValueError("`labels` must be a 1D int tensor [batch] of class ids. "
                         f"Received: labels shape={tuple(shape)}")

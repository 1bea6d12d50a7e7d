"""Checks that a generator and a discriminator can be trained together."""

_KINDS = {True: "a class-conditional", False: "an unconditional"}


def check_network_pair(generator, discriminator):
    """Whether the pair is class-conditional; ValueError when one network takes labels
    and the other does not, or when they are built for different class counts.

    G and D must share the class count (of their CBN and embedding layers): else D learns
    embedding rows for classes G is never conditioned on, or a label valid for one fails
    in the other mid-training. Networks without such layers (unconditional ones) are not
    compared.
    """
    conditional = len(generator.inputs) > 1
    if (len(discriminator.inputs) > 1) != conditional:
        raise ValueError(
            "`generator` and `discriminator` must both be class-conditional or both "
            f"unconditional. Received: {_KINDS[conditional]} generator and "
            f"{_KINDS[len(discriminator.inputs) > 1]} discriminator")
    counts = [", ".join(str(k) for k in sorted(_class_counts(net)))
              for net in (generator, discriminator)]
    if counts[0] and counts[1] and counts[0] != counts[1]:
        raise ValueError(
            "`generator` and `discriminator` must be built for the same number of "
            f"classes. Received: generator num_classes={counts[0]}, "
            f"discriminator num_classes={counts[1]}")
    return conditional


def _class_counts(net):
    found, stack = set(), list(net.layers)
    while stack:
        layer = stack.pop()
        if getattr(layer, "num_classes", None) is not None:
            found.add(layer.num_classes)
        stack.extend(getattr(layer, "layers", ()))  # nested models
    return found

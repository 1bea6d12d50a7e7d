"""How a loaded SavedModel classifier is called: its `__call__` or a signature."""

import os

import tensorflow as tf


def is_saved_model(path):
    """Whether the directory `path` holds a SavedModel (or TF-Hub module)."""
    return any(tf.io.gfile.exists(os.path.join(path, name))
               for name in ("saved_model.pb", "saved_model.pbtxt"))


def saved_model_call(module, path, signature):
    """How a loaded SavedModel is called (see `classifier_loaders.saved_model_classifier`).

    Returns `(call(images) -> outputs, input TensorSpec or None)`."""
    signatures = getattr(module, "signatures", {}) or {}
    if signature is None and callable(module):
        specs = [cf.structured_input_signature[0][0]
                 for cf in getattr(module.__call__, "concrete_functions", ())
                 if cf.structured_input_signature[0]]
        return module, (specs[0] if len(specs) == 1 else None)
    if signature is None:
        if "serving_default" in signatures:
            signature = "serving_default"
        elif "default" in signatures:  # TF1 Hub format modules.
            signature = "default"
        elif len(signatures) == 1:
            signature = next(iter(signatures))
        else:
            raise ValueError(
                f"The SavedModel at {path} is not callable and has no "
                f"serving_default or default signature; pass `signature`, one of "
                f"{sorted(signatures)}.")
    if signature not in signatures:
        raise ValueError(f"The SavedModel at {path} has no signature {signature!r}; "
                         f"it has {sorted(signatures)}.")
    concrete = signatures[signature]
    input_specs = concrete.structured_input_signature[1]
    if len(input_specs) != 1:
        raise ValueError(f"Signature {signature!r} of the SavedModel at {path} must "
                         f"take one input (the images). It takes {sorted(input_specs)}.")
    (input_name, input_spec), = input_specs.items()
    return (lambda images: concrete(**{input_name: images})), input_spec

"""Loads TF-GAN's evaluation package (`tfgan.eval`) on TensorFlow >= 2.16.

`import tensorflow_gan` fails on TensorFlow >= 2.16 (tensorflow/gan#55): its package
`__init__` reaches `tf.estimator`, removed from TensorFlow, although the evaluation
code itself (`tensorflow_gan/python/eval/`) imports fine. `load_tfgan_eval()` imports
it with `sagan_tf.compat.import_without_package_init`, which skips the two failing
package `__init__` files and leaves a later real `import tensorflow_gan` exactly as it
would be without it (see that function for how). If `tensorflow_gan` was imported for
real (an older TensorFlow, or a TF-GAN release that fixes the import), its own
evaluation module is used.
"""

import threading

from sagan_tf import compat

_PACKAGES = ("tensorflow_gan", "tensorflow_gan.python")
_EVAL_MODULE = "tensorflow_gan.python.eval"

# Functions the rest of `sagan_tf.metrics` relies on.
REQUIRED_FUNCTIONS = (
    "classifier_score_from_logits",
    "frechet_classifier_distance_from_activations",
    "kernel_classifier_distance_and_std_from_activations",
)

_lock = threading.Lock()
_cached = None


def load_tfgan_eval():
    """Returns TF-GAN's evaluation module (what `tensorflow_gan.eval` would be).

    The module is imported once and cached; later calls return the same object.
    See `sagan_tf.compat.import_without_package_init` for how the import works
    around the broken `tensorflow_gan/__init__.py` on TensorFlow >= 2.16.

    Returns:
        The `tensorflow_gan.python.eval` module, which exposes e.g.
        `classifier_score_from_logits`,
        `frechet_classifier_distance_from_activations` and
        `kernel_classifier_distance_and_std_from_activations`.

    Raises:
        ImportError: if tensorflow-gan is not installed, or its evaluation package
            cannot be imported or lacks one of `REQUIRED_FUNCTIONS`.
    """
    global _cached
    with _lock:
        if _cached is None:
            module = _import_eval()
            missing = [name for name in REQUIRED_FUNCTIONS
                       if not callable(getattr(module, name, None))]
            if missing:
                raise ImportError(
                    f"TF-GAN's evaluation module {module.__name__} "
                    f"({getattr(module, '__file__', '?')}) does not provide "
                    f"{missing}. sagan_tf.metrics needs tensorflow-gan 2.1.0 "
                    "(see requirements.txt).")
            _cached = module
        return _cached


def _import_eval():
    """Imports `tensorflow_gan.python.eval` without running the broken `__init__`s."""
    try:
        return compat.import_without_package_init(_EVAL_MODULE, _PACKAGES)
    except ModuleNotFoundError as e:
        if e.name != _PACKAGES[0]:
            raise
        raise ImportError(
            "tensorflow-gan is not installed; sagan_tf.metrics computes Inception "
            "Score, FID and KID with TF-GAN's evaluation functions. Install it with "
            "`pip install tensorflow-gan==2.1.0` (see requirements.txt).") from e

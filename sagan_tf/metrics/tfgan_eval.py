"""Loads TF-GAN's evaluation package (`tfgan.eval`) on TensorFlow >= 2.16.

`import tensorflow_gan` fails on TensorFlow >= 2.16: its package `__init__` imports
`tensorflow_gan.python.train` and `tensorflow_gan.python.estimator`, which reach
`tf.estimator`, removed from TensorFlow. The evaluation code itself
(`tensorflow_gan/python/eval/`) only needs TensorFlow, TensorFlow Probability,
TensorFlow Hub and two small TF-GAN modules (`tensorflow_gan.python.namedtuples`,
`tensorflow_gan.python.contrib_utils`), all of which import fine.

`load_tfgan_eval()` imports `tensorflow_gan.python.eval` without running the two
package `__init__` files that fail:

1. It registers placeholder modules for `tensorflow_gan` and `tensorflow_gan.python`
   in `sys.modules`: empty `types.ModuleType` objects whose `__path__` is the real
   package directory (from `importlib.util.find_spec`), so Python finds the real
   submodules below them without executing the parents' `__init__`.
2. It imports `tensorflow_gan.python.eval` (which imports `namedtuples`,
   `contrib_utils` and `tensorflow_hub`) with `importlib.import_module`.
3. It removes the two placeholders from `sys.modules` again, leaving only the real,
   fully imported submodules there (`tensorflow_gan.python.eval`, its submodules,
   `tensorflow_gan.python.namedtuples`, `tensorflow_gan.python.contrib_utils`).

Effect on a later `import tensorflow_gan` elsewhere in the process: it runs the real
package `__init__` exactly as if this module had never run, so it fails the same way
(AttributeError on `tf.estimator`) on TensorFlow >= 2.16, and works on a TensorFlow
where it works. Nothing here makes it fail differently or pretend to succeed.

If `tensorflow_gan` has already been imported successfully (an older TensorFlow, or a
future TF-GAN release that fixes the import), its own `tensorflow_gan.eval` is used.
"""

import importlib
import importlib.util
import sys
import threading
import types

_PLACEHOLDER_PACKAGES = ("tensorflow_gan", "tensorflow_gan.python")
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
    See the module docstring for how the import works around the broken
    `tensorflow_gan/__init__.py` on TensorFlow >= 2.16.

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
    real = sys.modules.get("tensorflow_gan")
    if real is not None and not getattr(real, "_sagan_tf_placeholder", False):
        # Already imported for real (only possible where that import works).
        eval_module = getattr(real, "eval", None)
        if eval_module is not None:
            return eval_module
    if _EVAL_MODULE in sys.modules:
        return sys.modules[_EVAL_MODULE]

    spec = importlib.util.find_spec("tensorflow_gan")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "tensorflow-gan is not installed; sagan_tf.metrics computes Inception "
            "Score, FID and KID with TF-GAN's evaluation functions. Install it with "
            "`pip install tensorflow-gan==2.1.0` (see requirements.txt).")
    package_dirs = list(spec.submodule_search_locations)
    python_dirs = [f"{d}/python" for d in package_dirs]

    added = []
    try:
        for name, path in zip(_PLACEHOLDER_PACKAGES, (package_dirs, python_dirs)):
            if name in sys.modules:
                continue
            placeholder = types.ModuleType(
                name, "Placeholder package registered by sagan_tf.metrics.tfgan_eval "
                      "while importing tensorflow_gan.python.eval.")
            placeholder.__path__ = path
            placeholder.__package__ = name
            placeholder._sagan_tf_placeholder = True
            sys.modules[name] = placeholder
            added.append((name, placeholder))
        try:
            return importlib.import_module(_EVAL_MODULE)
        except Exception as e:
            raise ImportError(
                f"Could not import {_EVAL_MODULE} from {package_dirs[0]}: "
                f"{type(e).__name__}: {e}") from e
    finally:
        # Remove only the placeholders this call registered, so that a later
        # `import tensorflow_gan` runs the real package `__init__`.
        for name, placeholder in added:
            if sys.modules.get(name) is placeholder:
                del sys.modules[name]

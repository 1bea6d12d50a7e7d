"""Every place where sagan_tf relies on a private or undocumented Keras/TF behaviour.

Each workaround is one function here, with the upstream issue (or the reason there is
none), the versions it was checked on, and a test in `tests/sagan_tf/test_compat.py`
that fails when upstream behaviour changes, so that an upgrade says which workaround
to drop or mend. Nothing outside this module touches a private Keras/TF name.

Checked on: TensorFlow 2.21.0, Keras 3.15.1, tensorflow-hub 0.16.1,
tensorflow-gan 2.1.0.
"""

import hashlib
import importlib
import importlib.util
import sys
import types

import tensorflow as tf


def tfhub_cache_folder(handle):
    """The folder name under which `tensorflow_hub` caches the module of `handle`.

    tensorflow_hub stores the module of a handle (URL) in
    `<cache_dir>/<sha1(handle).hexdigest()>/` and takes a non-empty directory as a
    finished download (`compressed_module_resolver._module_dir`, a private function;
    tensorflow_hub has no public API that looks a handle up without downloading).
    Checked on tensorflow-hub 0.16.1.
    """
    return hashlib.sha1(handle.encode("utf8")).hexdigest()


def optimizer_iterations_key(name):
    """The key of a Keras 3 optimizer's step counter in a `tf.train.Checkpoint` that
    tracks the optimizer as `name`: `<name>/_iterations/.ATTRIBUTES/VARIABLE_VALUE`.

    Keras 3 stores the counter as the private attribute `_iterations`, so the key
    spells a private name; reading it from the checkpoint file tells the step of a
    checkpoint without building the model. No upstream issue: the layout is how
    `tf.train.Checkpoint` names tracked attributes. Checked on Keras 3.15.1.
    """
    return f"{name}/_iterations/.ATTRIBUTES/VARIABLE_VALUE"


# -- tf.distribute -------------------------------------------------------------------

# How far each `mirrored_strategy` moves the collective key base: more group and
# instance keys than one strategy uses in a run.
COLLECTIVE_KEY_RANGE = 100_000


def mirrored_strategy(devices):
    """`tf.distribute.MirroredStrategy(devices)` with collective keys no earlier
    MirroredStrategy of this process uses.

    MirroredStrategy numbers its collective group keys from
    `1 + MirroredStrategy._collective_key_base` (a private class attribute, 0 unless
    changed), so a second strategy over the same devices in one process (a test
    session, a notebook) reuses the first one's keys, and its all-reduces (e.g.
    synchronized BatchNorm) fail with "Shape mismatch in the collective instance"
    (tensorflow/tensorflow#62790). This moves the base on by `COLLECTIVE_KEY_RANGE`
    before each strategy, as TensorFlow's own tests do. Checked on TensorFlow 2.21.0.
    """
    tf.distribute.MirroredStrategy._collective_key_base += COLLECTIVE_KEY_RANGE  # pylint: disable=protected-access
    return tf.distribute.MirroredStrategy(devices)


def in_multi_worker_mode(strategy):
    """Whether Keras' `fit` reduces train_step outputs across workers.

    The same test as Keras' own (`keras/src/backend/tensorflow/trainer.py`,
    `_collective_all_reduce_multi_worker`): a `MultiWorkerMirroredStrategy` whose
    private `extended._in_multi_worker_mode()` is true, i.e. a cluster of more than
    one worker. TensorFlow has no public equivalent. Checked on TensorFlow 2.21.0,
    Keras 3.15.1.
    """
    return (isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
            and strategy.extended._in_multi_worker_mode())  # pylint: disable=protected-access


def reducible_train_step_outputs(results, strategy):
    """`results` of a `train_step`, in a shape Keras' `fit` can reduce under `strategy`.

    Across workers Keras reduces each output with
    `strategy.reduce("MEAN", value, axis=0)`, which rejects scalars ("Invalid
    reduction dimension 0 for input with 0 dimensions", keras-team/keras#20585).
    Under multi-worker training (`in_multi_worker_mode`) each value is reshaped to
    [1], which reduces to the same scalar; elsewhere `results` is returned as is.
    Checked on Keras 3.15.1.
    """
    if not in_multi_worker_mode(strategy):
        return results
    return tf.nest.map_structure(lambda value: tf.reshape(value, [1]), results)


# The private `keras.Model` hook that `fit`, `evaluate`, `train_on_batch` and
# `test_on_batch` call before the first step (see `skip_symbolic_build`).
SYMBOLIC_BUILD_HOOK = "_maybe_symbolic_build"


def skip_symbolic_build(iterator=None, data_batch=None):
    """The body of a model's `_maybe_symbolic_build` override: builds nothing.

    Under a distribution strategy Keras' TensorFlow trainer calls the private hook
    `Model._maybe_symbolic_build` (`SYMBOLIC_BUILD_HOOK`) before the first step; it
    reads a batch and reduces it across replicas with `strategy.reduce`, which fails
    under MultiWorkerMirroredStrategy (keras-team/keras#20585), so `fit` cannot
    start there. A model whose variables are all built before `fit` (SAGAN: G, D and
    both optimizers) has nothing to build and overrides the hook with this. Keras
    calls the hook by name, so a rename upstream silently drops the override; the
    test of this function fails then. Checked on Keras 3.15.1.
    """
    del iterator, data_batch


# -- Keras utilities -----------------------------------------------------------------

def progbar_whole_lines(progbar):
    """Makes a `keras.utils.Progbar` write whole lines instead of redrawing in place.

    Progbar redraws its line in place (with "\\b" and "\\r") whenever its private
    `_dynamic_display` is true, and it is true on every POSIX system
    (`"posix" in sys.modules`), even when stdout is a log file or a pipe; Progbar has
    no public switch. This sets it false. No upstream issue found. Checked on
    Keras 3.15.1. Returns `progbar`.
    """
    if hasattr(progbar, "_dynamic_display"):
        progbar._dynamic_display = False  # pylint: disable=protected-access
    return progbar


# -- packages whose __init__ fails -----------------------------------------------------

def import_without_package_init(module_name, packages):
    """Imports `module_name` without running the `__init__` of `packages`, its parents.

    Used for TF-GAN's evaluation package: `import tensorflow_gan` fails on
    TensorFlow >= 2.16 (tensorflow/gan#55), because its package `__init__` imports
    `tensorflow_gan.python.train` and `tensorflow_gan.python.estimator`, which reach
    `tf.estimator`, removed from TensorFlow. The evaluation code
    (`tensorflow_gan/python/eval/`) only needs TensorFlow, TensorFlow Probability,
    TensorFlow Hub and two small TF-GAN modules (`tensorflow_gan.python.namedtuples`,
    `tensorflow_gan.python.contrib_utils`), all of which import fine. So:

    1. Each package in `packages` (e.g. `("tensorflow_gan", "tensorflow_gan.python")`)
       not yet imported gets a placeholder in `sys.modules`: an empty
       `types.ModuleType` whose `__path__` is the real package directory (found with
       `importlib.util.find_spec` of the top-level package) and which carries the
       attribute `_sagan_tf_placeholder = True`, so that Python finds the real
       submodules below it without executing the package's `__init__`.
    2. `module_name` is imported with `importlib.import_module`.
    3. The placeholders this call registered are removed from `sys.modules` again,
       leaving only the real, fully imported submodules there (for TF-GAN:
       `tensorflow_gan.python.eval`, its submodules, `namedtuples`, `contrib_utils`).

    A later real `import tensorflow_gan` in the process then runs the real package
    `__init__` exactly as if this had never run: it fails the same way
    (AttributeError on `tf.estimator`) on TensorFlow >= 2.16 and works where it works.
    Nothing here makes it fail differently or pretend to succeed. A module already in
    `sys.modules` (imported for real, or by an earlier call) is returned as is.
    Checked on TensorFlow 2.21.0, tensorflow-gan 2.1.0.

    Raises:
        ModuleNotFoundError: the top-level package is not installed (`e.name` is it).
        ImportError: `module_name` itself fails to import.
    """
    if module_name in sys.modules:
        return sys.modules[module_name]
    top = packages[0].split(".")[0]
    spec = importlib.util.find_spec(top)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"No module named {top!r}", name=top)
    top_dirs = list(spec.submodule_search_locations)
    added = []
    try:
        for package in packages:
            if package in sys.modules:
                continue
            below = package.split(".")[1:]
            placeholder = types.ModuleType(
                package, f"Placeholder package registered by sagan_tf.compat while "
                         f"importing {module_name}.")
            placeholder.__path__ = ["/".join([d, *below]) for d in top_dirs]
            placeholder.__package__ = package
            placeholder._sagan_tf_placeholder = True
            sys.modules[package] = placeholder
            added.append((package, placeholder))
        try:
            return importlib.import_module(module_name)
        except Exception as e:
            raise ImportError(f"Could not import {module_name} from {top_dirs[0]}: "
                              f"{type(e).__name__}: {e}") from e
    finally:
        # Only this call's placeholders, so a later real import runs the real __init__.
        for package, placeholder in added:
            if sys.modules.get(package) is placeholder:
                del sys.modules[package]


def allow_tensor_seeds_in_traced_function():
    """Lets a `tf.data` function (a `flat_map` body) pass a tensor seed to `shuffle`.

    `tensorflow.python.framework.random_seed.get_seed` ends with `seeds == (0, 0)`, a
    tuple comparison that calls `bool()` on the op seed when the global seed is 0
    (`tf.random.set_seed(0)`, which `training.pipeline.load` does for the default
    `--seed=0`), and a symbolic tensor has no truth value: the trace fails with
    OperatorNotAllowedInGraphError. Clearing the seed of the graph being traced (only
    that function's graph; the global seed is untouched) takes get_seed's other
    branch, `(DEFAULT_GRAPH_SEED, op_seed)`, whatever the global seed is, so the
    order then depends on the op seed alone. Call it inside the traced function.
    """
    if not tf.executing_eagerly():
        tf.compat.v1.set_random_seed(None)


# -- TensorFlow's CPU kernels --------------------------------------------------------

def onednn_enabled():
    """Whether this process's TensorFlow runs its oneDNN CPU kernels.

    `tensorflow.python.util._pywrap_util_port.IsMklEnabled` (private; TensorFlow has
    no public query) returns `tensorflow::IsMklEnabled()`: the build's oneDNN support
    and `TF_ENABLE_ONEDNN_OPTS` as read once when TensorFlow loaded, or, when the
    variable is unset, TensorFlow's default for the CPU (`DefaultOneDnnPolicy` in
    tensorflow/core/util/port.cc; see `sagan_tf.cpu`). False where the module is
    missing. Checked on TensorFlow 2.21.0.
    """
    try:
        from tensorflow.python.util import _pywrap_util_port  # pylint: disable=import-outside-toplevel
    except ImportError:
        return False
    return bool(_pywrap_util_port.IsMklEnabled())


def forget_console_script_requires():
    """Drops `__requires__` from `__main__`, which the console scripts that
    `pip install -e .` writes through setuptools' legacy `develop` define.

    pkg_resources, when first imported (tensorflow_hub imports it), resolves
    `__main__.__requires__` ("sagan-tf") through every dependency's metadata, and its
    name matching fails on some of them (setuptools 65: ai-edge-litert's requirement
    "backports.strenum" against the installed "backports_strenum" dist-info), so
    `sagan-eval` stopped at the Inception Score with DistributionNotFound. The scripts
    import the programs after resolving their entry point, so this runs in time.
    """
    main = sys.modules.get("__main__")
    if main is not None and hasattr(main, "__requires__"):
        del main.__requires__

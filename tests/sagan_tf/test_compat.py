"""One test per workaround in `sagan_tf.compat`: each fails when the upstream behaviour
it relies on changes, so that an upgrade says which workaround to drop or mend.

Reading private Keras/TF names here is the point: these tests pin them down.
"""

import inspect
import os
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from keras.src.backend.tensorflow import trainer as keras_tf_trainer

from sagan_tf import compat
from sagan_tf.sagan import SAGAN

DEVICES = ["/cpu:0", "/cpu:1"]  # tests/conftest.py split the CPU in two


# -- tensorflow_hub ------------------------------------------------------------------

def test_tfhub_cache_folder_is_where_tensorflow_hub_caches(tmp_path, monkeypatch):
    from tensorflow_hub import compressed_module_resolver

    monkeypatch.setenv("TFHUB_CACHE_DIR", str(tmp_path))
    handle = "https://tfhub.dev/tensorflow/tfgan/eval/inception/1"
    module_dir = compressed_module_resolver._module_dir(handle)
    assert os.path.dirname(module_dir) == str(tmp_path)
    assert os.path.basename(module_dir) == compat.tfhub_cache_folder(handle)


# -- Keras optimizer checkpoints -----------------------------------------------------

def test_optimizer_iterations_key_names_the_step_in_a_checkpoint(tmp_path):
    optimizer = keras.optimizers.Adam(0.1)
    variable = keras.Variable(1.0)
    for _ in range(3):
        optimizer.apply_gradients([(tf.constant(1.0), variable)])
    path = tf.train.Checkpoint(g_optimizer=optimizer).write(str(tmp_path / "ckpt"))
    reader = tf.train.load_checkpoint(path)
    assert int(reader.get_tensor(compat.optimizer_iterations_key("g_optimizer"))) == 3


# -- tf.distribute -------------------------------------------------------------------

def _group_key(strategy):
    return strategy.extended._collective_keys.get_group_key(DEVICES)


def test_plain_mirrored_strategies_share_collective_keys_and_compat_ones_do_not():
    """tensorflow/tensorflow#62790: if plain strategies stop sharing keys, the bump in
    `compat.mirrored_strategy` is no longer needed; if the class attribute goes, it
    no longer works. (tests/training/test_strategy.py runs the all-reduces.)"""
    assert isinstance(tf.distribute.MirroredStrategy._collective_key_base, int)
    plain = [_group_key(tf.distribute.MirroredStrategy(DEVICES)) for _ in range(2)]
    assert plain[0] == plain[1]
    ours = [_group_key(compat.mirrored_strategy(DEVICES)) for _ in range(2)]
    assert ours[0] != ours[1] and not set(ours) & set(plain)


def test_in_multi_worker_mode_agrees_with_keras_on_local_strategies(monkeypatch):
    """A real two-worker cluster (two processes, TF_CONFIG, ports) is too heavy for the
    unit tests; this checks the private predicate exists and says False outside a
    cluster, as Keras' own test (which it copies) does."""
    monkeypatch.delenv("TF_CONFIG", raising=False)
    multi_worker = tf.distribute.MultiWorkerMirroredStrategy()
    assert multi_worker.extended._in_multi_worker_mode() is False
    for strategy in (multi_worker, compat.mirrored_strategy(DEVICES),
                     tf.distribute.get_strategy()):
        assert compat.in_multi_worker_mode(strategy) is False
        assert keras_tf_trainer._collective_all_reduce_multi_worker(strategy) is False


def test_keras_multi_worker_reduce_rejects_scalars_and_takes_shape_1(monkeypatch):
    """keras-team/keras#20585, without a cluster: Keras' multi-worker branch of
    `reduce_per_replica` is forced on over two local replicas. When it accepts
    scalars, `compat.reducible_train_step_outputs` can go."""
    strategy = compat.mirrored_strategy(DEVICES)
    monkeypatch.setattr(keras_tf_trainer, "_collective_all_reduce_multi_worker",
                        lambda s: True)
    monkeypatch.setattr(compat, "in_multi_worker_mode", lambda s: True)

    def step():
        replica = tf.distribute.get_replica_context().replica_id_in_sync_group
        return {"d_loss": tf.cast(replica + 1, tf.float32)}

    with pytest.raises(ValueError, match="Invalid reduction dimension 0"):
        keras_tf_trainer.reduce_per_replica(strategy.run(step), strategy, "auto")
    outputs = strategy.run(lambda: compat.reducible_train_step_outputs(step(), strategy))
    reduced = keras_tf_trainer.reduce_per_replica(outputs, strategy, "auto")
    assert reduced["d_loss"].shape == () and float(reduced["d_loss"]) == 1.5


def test_train_step_outputs_stay_scalars_outside_multi_worker():
    results = {"d_loss": tf.constant(1.0)}
    default = tf.distribute.get_strategy()
    assert compat.reducible_train_step_outputs(results, default) is results


def test_keras_fit_calls_the_symbolic_build_hook_that_sagan_overrides():
    """Keras calls the hook by name: a rename upstream would silently drop SAGAN's
    override (and `fit` under MultiWorkerMirroredStrategy would fail again)."""
    hook = compat.SYMBOLIC_BUILD_HOOK
    keras_hook = getattr(keras_tf_trainer.TensorFlowTrainer, hook)
    assert list(inspect.signature(keras_hook).parameters) == [
        "self", "iterator", "data_batch"]
    assert hook in vars(SAGAN) and getattr(keras.Model, hook) is keras_hook
    calls = []

    def spy(self, iterator=None, data_batch=None):
        calls.append(hook)
        return keras_hook(self, iterator=iterator, data_batch=data_batch)

    spy_class = type("SpyModel", (keras.Sequential,), {hook: spy})
    model = spy_class([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse")
    model.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=1, verbose=0)
    assert calls == [hook]


# -- keras.utils.Progbar -------------------------------------------------------------

def test_progbar_redraws_in_place_into_a_pipe_unless_told_otherwise(capsys):
    assert not sys.stdout.isatty()
    outputs = []
    for whole_lines in (False, True):
        progbar = keras.utils.Progbar(3, interval=0.0)
        assert progbar._dynamic_display is True  # even into a pipe: still needed
        if whole_lines:
            assert compat.progbar_whole_lines(progbar) is progbar
            assert progbar._dynamic_display is False
        for step in (1, 2, 3):
            progbar.update(step)
        outputs.append(capsys.readouterr().out)
    assert "\r" in outputs[0] or "\b" in outputs[0]
    assert "3/3" in outputs[1] and "\r" not in outputs[1] and "\b" not in outputs[1]


# -- tensorflow_gan ------------------------------------------------------------------

def _is_tfgan(name):
    return name == "tensorflow_gan" or name.startswith("tensorflow_gan.")


@pytest.fixture
def fresh_tensorflow_gan():
    """No tensorflow_gan module imported during the test; the session's afterwards."""
    saved = {name: sys.modules.pop(name) for name in list(sys.modules) if _is_tfgan(name)}
    yield
    for name in [name for name in sys.modules if _is_tfgan(name)]:
        del sys.modules[name]
    sys.modules.update(saved)


def test_tensorflow_gan_needs_and_gets_an_import_without_package_init(fresh_tensorflow_gan):
    """tensorflow/gan#55: when `import tensorflow_gan` works, the workaround can go."""
    module = compat.import_without_package_init(
        "tensorflow_gan.python.eval", ("tensorflow_gan", "tensorflow_gan.python"))
    assert module.__name__ == "tensorflow_gan.python.eval"
    assert callable(module.frechet_classifier_distance_from_activations)
    assert "tensorflow_gan" not in sys.modules  # no placeholder left behind
    assert "tensorflow_gan.python" not in sys.modules
    with pytest.raises(AttributeError, match="estimator"):
        import tensorflow_gan  # noqa: F401
    assert compat.import_without_package_init(
        "tensorflow_gan.python.eval", ("tensorflow_gan",)) is module  # already imported


def test_import_without_package_init_of_a_missing_package():
    with pytest.raises(ModuleNotFoundError, match="no_such_package_") as info:
        compat.import_without_package_init("no_such_package_.sub", ("no_such_package_",))
    assert info.value.name == "no_such_package_"


def _epoch_orders(workaround):
    def epoch(e):
        if workaround:
            compat.allow_tensor_seeds_in_traced_function()
        return tf.data.Dataset.range(6).shuffle(6, seed=e + 5)
    ds = tf.data.Dataset.range(2).flat_map(epoch)
    return [int(x) for x in ds]


def test_a_tensor_seed_in_a_traced_function_fails_under_global_seed_0_without_the_fix():
    """When TF's get_seed no longer compares a tensor seed as a bool, the workaround
    can go: this test then fails on its `pytest.raises`."""
    tf.random.set_seed(0)
    try:
        with pytest.raises(tf.errors.OperatorNotAllowedInGraphError):
            _epoch_orders(workaround=False)
        orders = _epoch_orders(workaround=True)
        tf.random.set_seed(7)  # the global seed no longer matters
        assert _epoch_orders(workaround=True) == orders
    finally:
        tf.random.set_seed(None)
    assert sorted(orders[:6]) == list(range(6)) and sorted(orders[6:]) == list(range(6))
    assert orders[:6] != orders[6:]  # each epoch its own seed


# -- TensorFlow's CPU kernels --------------------------------------------------------

def test_onednn_enabled_is_the_switch_tensorflow_read_at_load():
    # tests/conftest.py imports sagan_tf before TensorFlow, which sets the variable on
    # x86-64 unless the user did; both values in fresh interpreters: test_cpu.py.
    value = os.environ.get("TF_ENABLE_ONEDNN_OPTS")
    if value is None:
        pytest.skip("TF_ENABLE_ONEDNN_OPTS unset (not x86-64): TensorFlow's default")
    assert compat.onednn_enabled() is (value.strip().lower() in ("1", "true"))

"""`SAGAN.save()` -> `keras.models.load_model` -> `fit`: the compile (both optimizers,
D steps, gradient accumulation) and the optimizers' state come back, so the loaded
model's `fit` continues exactly as the uninterrupted fit would."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import sagan_tf
from sagan_tf.sagan import SAGAN

NUM_CLASSES = 3


def _model(d_steps=1, grad_accum=1):
    keras.utils.set_random_seed(0)
    g = sagan_tf.build_generator("sagan32", NUM_CLASSES, channels=[8, 8, 8], latent_dim=16)
    d = sagan_tf.build_discriminator("sagan32", NUM_CLASSES, channels=[8, 8, 8, 8])
    model = SAGAN(g, d, ema_decay=0.5, seed=3, diffaugment="translation")
    # Adam: its moments and step count are state that a bare weight copy would lose.
    model.compile(keras.optimizers.Adam(1e-3, beta_1=0.0, beta_2=0.9),
                  keras.optimizers.Adam(2e-3, beta_1=0.5, beta_2=0.9),
                  d_steps_per_g_step=d_steps, grad_accum=grad_accum)
    return model


def _batches(steps, rows):
    rng = np.random.RandomState(0)
    images = rng.uniform(-1, 1, (steps, rows, 32, 32, 3)).astype("float32")
    labels = rng.randint(0, NUM_CLASSES, (steps, rows)).astype("int32")
    return tf.data.Dataset.from_tensor_slices((images, labels))


def _fit(model, dataset):
    model.fit(dataset, epochs=1, verbose=0, shuffle=False)


@pytest.mark.parametrize("d_steps,grad_accum", [
    # Four fits each (75 s): both slow. test_checkpoints' restore test keeps the whole
    # training state's round trip (the programs' path) in the default run.
    pytest.param(1, 1, marks=pytest.mark.slow), pytest.param(2, 2, marks=pytest.mark.slow)])
def test_save_load_fit_continues_as_the_uninterrupted_fit(tmp_path, d_steps, grad_accum):
    first, then = 2, 2
    rows = 2 * d_steps * grad_accum
    data = _batches(first + then, rows)
    uninterrupted = _model(d_steps, grad_accum)
    _fit(uninterrupted, data)

    interrupted = _model(d_steps, grad_accum)
    _fit(interrupted, data.take(first))
    path = str(tmp_path / "sagan.keras")
    interrupted.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.d_steps_per_g_step == d_steps and loaded.grad_accum == grad_accum
    assert int(loaded.g_optimizer.iterations) == first
    assert int(loaded.d_optimizer.iterations) == first * d_steps
    for name in ("g_optimizer", "d_optimizer"):
        a, b = getattr(loaded, name), getattr(interrupted, name)
        assert a.get_config() == b.get_config()
        for u, v in zip(a.variables, b.variables):
            np.testing.assert_array_equal(u.numpy(), v.numpy(), err_msg=u.path)
    _fit(loaded, data.skip(first))

    assert int(loaded.g_optimizer.iterations) == first + then
    # The same ops on the same data, noise and state in the same order on one machine:
    # nothing but the save and load lies between the two, so they agree bit for bit.
    for name in ("generator", "discriminator", "ema_generator"):
        for a, b in zip(getattr(loaded, name).weights, getattr(uninterrupted, name).weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy(), err_msg=f"{name} {a.path}")
    # Training moved the weights after the load: the comparison is not of two copies.
    moved = max(np.abs(a - b).max() for a, b in zip(loaded.generator.get_weights(),
                                                    interrupted.generator.get_weights()))
    assert moved > 1e-4

import keras
import numpy as np
import pytest

from sagan_tf import weight_ema


@pytest.mark.parametrize("warmup", [True, False])
@pytest.mark.parametrize("start", [0, 3])
def test_decay_is_a_copy_until_the_start_then_the_capped_warmup(warmup, start):
    decay = 0.999
    for step in range(0, 2100, 7):
        t = step - start
        expected = 0.0 if t <= 0 else (min(decay, (1 + t) / (10 + t)) if warmup else decay)
        got = float(weight_ema.decay_at(step, decay, start, warmup))
        assert got == pytest.approx(expected, rel=1e-6), step


def test_warmup_reaches_the_decay_once_t_is_large_enough():
    # (1 + t) / (10 + t) >= 0.99 from t = 890 on.
    assert float(weight_ema.decay_at(889, 0.99)) < 0.99
    assert float(weight_ema.decay_at(891, 0.99)) == pytest.approx(0.99)


def test_update_averages_weights_and_copies_spectral_norm_u():
    from sagan_tf.layers import SpectralConv2D

    def net():
        x = keras.Input((4, 4, 2))
        return keras.Model(x, SpectralConv2D(3, 3, padding="same")(x))

    shadow, model = net(), net()
    before = [w.numpy().copy() for w in shadow.weights]
    weight_ema.update(shadow, model, 0.75)
    for w, s0, m in zip(shadow.weights, before, model.weights):
        expected = m.numpy() if w.path.endswith("sn_u") else 0.75 * s0 + 0.25 * m.numpy()
        np.testing.assert_allclose(w.numpy(), expected, rtol=1e-6, atol=1e-7, err_msg=w.path)
    assert any(w.path.endswith("sn_u") for w in model.weights)

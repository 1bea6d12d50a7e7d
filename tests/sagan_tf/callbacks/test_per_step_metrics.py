import numpy as np

from sagan_tf.callbacks import PerStepMetrics

NAMES = ("d_loss", "g_loss", "d_real", "d_fake")


def _by_hand(tiny, data):
    """Each step's losses from train_step on fresh trackers, on an identical model."""
    model, out = tiny.model(), []
    for batch in data:
        model.reset_metrics()
        out.append({k: float(v) for k, v in model.train_step(batch).items()})
    return out


def test_logs_are_each_steps_own_losses_not_running_means(tiny):
    data = tiny.digits().take(2).cache()
    expected = _by_hand(tiny, data)
    with_cb, without = tiny.Recorder(), tiny.Recorder()
    tiny.model().fit(data.repeat(), steps_per_epoch=2, verbose=0,
                     callbacks=[PerStepMetrics(), with_cb])
    tiny.model().fit(data.repeat(), steps_per_epoch=2, verbose=0, callbacks=[without])
    for name in NAMES:
        per_step = [e[name] for e in expected]
        np.testing.assert_allclose([l[name] for l in with_cb.logs], per_step, rtol=1e-5)
        # Keras' own logs: the mean since the epoch began.
        np.testing.assert_allclose(without.logs[-1][name], np.mean(per_step), rtol=1e-5)
    assert abs(expected[-1]["d_loss"] - np.mean([e["d_loss"] for e in expected])) > 1e-3

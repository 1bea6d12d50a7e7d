import numpy as np

from sagan_tf.callbacks import PerStepMetrics

NAMES = ("d_loss", "g_loss", "d_real", "d_fake")


def test_logs_are_each_steps_own_losses_not_running_means(tiny):
    """Two identical models fit on the same two batches, with and without the callback.
    Keras' own logs are the mean since the epoch began: its first equals step 1's
    losses and its second their mean over steps 1 and 2, which together fix both steps'
    own values, which the callback's logs must be."""
    data = tiny.digits().take(2).cache()
    with_cb, without = tiny.Recorder(), tiny.Recorder()
    tiny.model().fit(data.repeat(), steps_per_epoch=2, verbose=0,
                     callbacks=[PerStepMetrics(), with_cb])
    tiny.model().fit(data.repeat(), steps_per_epoch=2, verbose=0, callbacks=[without])
    for name in NAMES:
        first, second = (logs[name] for logs in with_cb.logs)
        np.testing.assert_allclose(without.logs[0][name], first, rtol=1e-5)
        np.testing.assert_allclose(without.logs[1][name], (first + second) / 2, rtol=1e-5)
    assert abs(with_cb.logs[1]["d_loss"] - without.logs[1]["d_loss"]) > 1e-3  # not means

import numpy as np
import tensorflow as tf

from sagan_tf.callbacks import PerStepMetrics, ScalarSummaries
from sagan_tf.summaries import read_events


def test_losses_gradient_norms_sigmas_and_gammas_every_n_steps(tiny, tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    recorder = tiny.Recorder()
    model = tiny.model()
    model.fit(tiny.digits(), steps_per_epoch=4, verbose=0, shuffle=False,
              callbacks=[PerStepMetrics(), ScalarSummaries(writer, every=2), recorder])
    events = read_events(str(tmp_path))
    _check_sigmas(model, events, last_step=4)
    at = {step: i for i, step in enumerate(recorder.steps)}
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert events[f"losses/{name}"] == [
            (s, recorder.logs[at[s]][name]) for s in (2, 4)]
    for name, tag in (("d_grad_norm", "gradient_norm/discriminator"),
                      ("g_grad_norm", "gradient_norm/generator")):
        assert events[tag] == [(s, recorder.logs[at[s]][name]) for s in (2, 4)]
        assert all(0 < v < np.inf for _, v in events[tag])
    gamma_tags = sorted(t for t in events if t.startswith("gamma/"))
    assert gamma_tags == ["gamma/discriminator/attention16", "gamma/generator/attention16"]
    for tag in gamma_tags:
        key = tag[len("gamma/"):]
        assert events[tag] == [(s, recorder.gammas[at[s]][key]) for s in (2, 4)]
        assert events[tag][-1][1] != 0.0  # gamma starts at 0 and has been trained



def _check_sigmas(model, events, last_step):
    """sigma/<network>/<kernel> at the last step: v W u^T with v = normalize(u W^T), in
    NumPy from the stored u; at most, and near, the largest singular value (SVD)."""
    for network in (model.generator, model.discriminator):
        weights = {w.path: w.numpy() for w in network.weights}
        kernels = [p[:-len("sn_u")] for p in weights if p.endswith("/sn_u")]
        assert len(kernels) > 5
        for prefix in kernels:
            path = prefix + ("embeddings" if prefix + "embeddings" in weights else "kernel")
            w = weights[path].reshape(-1, weights[path].shape[-1]).astype(np.float64)
            u = weights[prefix + "sn_u"].astype(np.float64)
            v = u @ w.T
            v /= np.linalg.norm(v)
            expected = (v @ w @ u.T).item()
            step, sigma = events[f"sigma/{network.name}/{path}"][-1]
            assert step == last_step
            np.testing.assert_allclose(sigma, expected, rtol=1e-5, err_msg=path)
            top = np.linalg.svd(w, compute_uv=False)[0]
            assert 0.5 * top < sigma <= top * (1 + 1e-5), path

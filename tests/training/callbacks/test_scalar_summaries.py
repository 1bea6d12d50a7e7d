import tensorflow as tf

from training.callbacks import PerStepMetrics, ScalarSummaries
from training.summaries import read_events


def test_losses_and_every_attention_gamma_every_n_steps(tiny, tmp_path):
    writer = tf.summary.create_file_writer(str(tmp_path))
    recorder = tiny.Recorder()
    tiny.model().fit(tiny.digits(), steps_per_epoch=4, verbose=0,
                     callbacks=[PerStepMetrics(), ScalarSummaries(writer, every=2), recorder])
    events = read_events(str(tmp_path))
    at = {step: i for i, step in enumerate(recorder.steps)}
    for name in ("d_loss", "g_loss", "d_real", "d_fake"):
        assert events[f"losses/{name}"] == [
            (s, recorder.logs[at[s]][name]) for s in (2, 4)]
    gamma_tags = sorted(t for t in events if t.startswith("gamma/"))
    assert gamma_tags == ["gamma/discriminator/attention16", "gamma/generator/attention16"]
    for tag in gamma_tags:
        key = tag[len("gamma/"):]
        assert events[tag] == [(s, recorder.gammas[at[s]][key]) for s in (2, 4)]
        assert events[tag][-1][1] != 0.0  # gamma starts at 0 and has been trained

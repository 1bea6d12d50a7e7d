import os
import signal

import keras
import pytest

from sagan_tf.callbacks import PeriodicCheckpoint, ProgressBar, StopOnSignal


class _SignalAt(keras.callbacks.Callback):
    def __init__(self, step, signum):
        super().__init__()
        self.step, self.signum = step, signum

    def on_train_batch_end(self, batch, logs=None):
        if int(self.model.g_optimizer.iterations.numpy()) == self.step:
            os.kill(os.getpid(), self.signum)


def test_sigterm_stops_after_the_step_and_the_final_checkpoint_is_saved(tiny):
    previous = signal.getsignal(signal.SIGTERM)
    model = tiny.model()
    writer, stopper = tiny.RecordingWriter(model), StopOnSignal()
    model.fit(tiny.digits(), steps_per_epoch=8, verbose=0, callbacks=[
        _SignalAt(2, signal.SIGTERM), stopper, PeriodicCheckpoint(writer, every=100)])
    assert int(model.g_optimizer.iterations.numpy()) == 2
    assert stopper.received == signal.SIGTERM
    assert writer.saved == [2]
    assert signal.getsignal(signal.SIGTERM) is previous  # handler restored


def test_second_ctrl_c_aborts_at_once():
    # Not always Python's default handler: a shell starts background jobs with SIGINT
    # ignored, and the callback must give back whatever was there.
    previous = signal.getsignal(signal.SIGINT)
    stopper = StopOnSignal()
    stopper.set_model(keras.Sequential())
    stopper.on_train_begin()
    try:
        os.kill(os.getpid(), signal.SIGINT)
        assert stopper.received == signal.SIGINT  # the first one only asks to stop
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
    finally:
        stopper.on_train_end()
    assert signal.getsignal(signal.SIGINT) is previous


class _SignallingWriter:
    """A checkpoint writer that is sent SIGTERM and two SIGINTs while it saves."""

    def __init__(self, writer):
        self.writer, self.saved = writer, []

    @property
    def step(self):
        return self.writer.step

    @property
    def last_saved_step(self):
        return self.writer.last_saved_step

    def save(self):
        for signum in (signal.SIGTERM, signal.SIGINT, signal.SIGINT):
            os.kill(os.getpid(), signum)
        self.saved.append(self.writer.save())  # reached: the signals did not interrupt
        return self.saved[-1]


def test_signals_during_the_final_save_do_not_lose_it(tiny):
    previous = signal.getsignal(signal.SIGINT)  # SIG_IGN in a shell's background job
    model = tiny.model()
    writer = _SignallingWriter(tiny.RecordingWriter(model))
    stopper = StopOnSignal()
    model.fit(tiny.digits(), steps_per_epoch=8, verbose=0, callbacks=[
        _SignalAt(2, signal.SIGTERM), PeriodicCheckpoint(writer, every=100), stopper])
    assert writer.saved == ["ckpt-2"]
    assert signal.getsignal(signal.SIGINT) is previous


@pytest.mark.slow  # 17 s; the display only
def test_an_early_stop_does_not_show_a_full_progress_bar(tiny, capsys):
    model = tiny.model()
    model.fit(tiny.digits(), steps_per_epoch=8, verbose=1, callbacks=[
        ProgressBar(), _SignalAt(3, signal.SIGTERM), StopOnSignal()])
    out = capsys.readouterr().out
    assert "3/8" in out and "8/8" not in out
    model.fit(tiny.digits(), steps_per_epoch=2, verbose=1, callbacks=[ProgressBar()])
    assert "2/2" in capsys.readouterr().out  # a run that completes ends full

import os
import signal

import keras
import pytest

from training.callbacks import PeriodicCheckpoint, StopOnSignal


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
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler

from training.callbacks import PeriodicCheckpoint


class _Writer:
    """Records the steps it is asked to save at."""

    def __init__(self, model):
        self.model, self.saved, self.last_saved_step = model, [], None

    @property
    def step(self):
        return int(self.model.g_optimizer.iterations.numpy())

    def save(self):
        self.saved.append(self.step)
        self.last_saved_step = self.step
        return f"ckpt-{self.step}"


def test_saves_every_n_steps_and_at_the_end_without_repeating(tiny):
    model = tiny.model()
    writer = _Writer(model)
    model.fit(tiny.digits(), steps_per_epoch=3, verbose=0,
              callbacks=[PeriodicCheckpoint(writer, every=2)])
    assert writer.saved == [2, 3]  # on schedule, then at the end
    model.fit(tiny.digits(), steps_per_epoch=1, verbose=0,
              callbacks=[PeriodicCheckpoint(writer, every=2)])
    assert writer.saved == [2, 3, 4]  # step 4 saved on schedule, not again at the end

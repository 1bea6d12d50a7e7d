from sagan_tf.callbacks import PeriodicCheckpoint


def test_saves_every_n_steps_and_at_the_end_without_repeating(tiny):
    model = tiny.model()
    writer = tiny.RecordingWriter(model)
    model.fit(tiny.digits(), steps_per_epoch=3, verbose=0,
              callbacks=[PeriodicCheckpoint(writer, every=2)])
    assert writer.saved == [2, 3]  # on schedule, then at the end
    model.fit(tiny.digits(), steps_per_epoch=1, verbose=0,
              callbacks=[PeriodicCheckpoint(writer, every=2)])
    assert writer.saved == [2, 3, 4]  # step 4 saved on schedule, not again at the end

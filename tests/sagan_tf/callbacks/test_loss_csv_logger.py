from sagan_tf.callbacks import LossCSVLogger, PerStepMetrics
from sagan_tf.callbacks.loss_csv_logger import COLUMNS, read_losses


def test_one_row_per_step_with_the_logged_losses(tiny, tmp_path):
    path = str(tmp_path / "losses.csv")
    recorder = tiny.Recorder()
    tiny.model().fit(tiny.digits(), steps_per_epoch=3, verbose=0,
                     callbacks=[PerStepMetrics(), LossCSVLogger(path), recorder])
    table = read_losses(path)
    assert table["step"] == [1, 2, 3]
    for name in COLUMNS[1:]:
        assert table[name] == [logs[name] for logs in recorder.logs]  # exact: repr floats
    assert open(path).readline().strip() == ",".join(COLUMNS)


def test_resumed_run_drops_rows_after_its_checkpoint_and_appends(tiny, tmp_path):
    path = tmp_path / "losses.csv"
    old = [[s, 10.0 + s, 20.0 + s, 30.0 + s, 40.0 + s] for s in range(1, 6)]
    path.write_text(",".join(COLUMNS) + "\n"
                    + "".join(",".join(map(str, row)) + "\n" for row in old))
    model = tiny.model()
    model.g_optimizer.iterations.assign(3)  # restored from the step-3 checkpoint
    recorder = tiny.Recorder()
    model.fit(tiny.digits(), steps_per_epoch=2, verbose=0,
              callbacks=[PerStepMetrics(), LossCSVLogger(str(path), start_step=3), recorder])
    table = read_losses(str(path))
    assert table["step"] == [1, 2, 3, 4, 5]
    assert table["d_loss"][:3] == [11.0, 12.0, 13.0]  # kept: the run's history
    assert table["d_loss"][3:] == [logs["d_loss"] for logs in recorder.logs]  # retrained
    assert recorder.steps == [4, 5]

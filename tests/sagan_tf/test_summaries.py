import numpy as np
import tensorflow as tf

from sagan_tf import summaries


def test_written_summaries_read_back_with_tensorboard_plugin_metadata(tmp_path):
    rng = np.random.RandomState(0)
    grid = rng.randint(0, 256, (2, 5, 7, 3)).astype(np.uint8)
    writer = tf.summary.create_file_writer(str(tmp_path))
    with writer.as_default():
        summaries.scalar("losses/d_loss", 1.25, step=3)
        summaries.scalar("gamma/g", tf.constant(-0.5, tf.bfloat16), step=4)
        summaries.image("samples", grid, step=5, description="**Rows**: classes")
        summaries.text("config", "lr: 1e-4", step=0)
    writer.flush()
    assert summaries.read_descriptions(str(tmp_path)) == {"samples": "**Rows**: classes"}
    events = summaries.read_events(str(tmp_path))
    assert events["losses/d_loss"] == [(3, 1.25)]
    assert events["gamma/g"] == [(4, -0.5)]
    assert events["config"] == [(0, "lr: 1e-4")]
    (step, images), = events["samples"]
    assert step == 5
    np.testing.assert_array_equal(images, grid)  # PNG is lossless

    # TensorBoard's plugins find the records by these names and tensor layouts.
    plugins = {}
    path = tf.io.gfile.glob(f"{tmp_path}/events.out.tfevents.*")[0]
    for event in tf.compat.v1.train.summary_iterator(path):
        for v in event.summary.value:
            plugins[v.tag] = (v.metadata.plugin_data.plugin_name, tf.make_ndarray(v.tensor))
    assert plugins["losses/d_loss"][0] == "scalars"
    assert plugins["losses/d_loss"][1].dtype == np.float32
    assert plugins["losses/d_loss"][1].shape == ()
    name, tensor = plugins["samples"]
    assert name == "images" and list(tensor[:2]) == [b"7", b"5"]  # width, height, PNGs
    assert tensor[2].startswith(b"\x89PNG") and len(tensor) == 4
    assert plugins["config"][0] == "text"

"""TensorBoard summaries written with TensorFlow alone.

`tf.summary.scalar`, `image` and `text` live in the `tensorboard` package, which
TensorFlow 2.21 no longer installs. These write the same records (the tensors and
plugin metadata of TensorBoard's scalars, images and text plugins) with the core
`tf.summary.write`, so training needs no TensorBoard; viewing the logs does.

A run's training summaries go to `<model_dir>/logs/train` and its evaluations to
`<model_dir>/logs/eval` (`RunDir.train_logs`, `RunDir.eval_logs`), so that
`tensorboard --logdir <model_dir>/logs` shows two named runs, `train` and `eval`.
"""

import tensorflow as tf
from tensorflow.core.framework import summary_pb2


def _metadata(plugin_name, description=None):
    return summary_pb2.SummaryMetadata(
        plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name=plugin_name),
        summary_description=description or "")


def scalar(tag, value, step=None, description=None):
    """A float32 scalar, as `tf.summary.scalar` writes it; TensorBoard shows the
    (markdown) `description` with the chart."""
    value = tf.reshape(tf.cast(value, tf.float32), [])
    return tf.summary.write(tag, value, step=step,
                            metadata=_metadata("scalars", description))


def image(tag, images, step=None, description=None):
    """uint8 images [k, H, W, C] (C in 1, 3, 4), as `tf.summary.image` writes them:
    a string tensor [width, height, png_1, ..., png_k]; TensorBoard shows the
    (markdown) `description` with the images."""
    images = tf.convert_to_tensor(images, tf.uint8)
    height, width = images.shape[1], images.shape[2]
    encoded = [tf.image.encode_png(images[i]) for i in range(images.shape[0])]
    tensor = tf.stack([tf.as_string(width), tf.as_string(height)] + encoded)
    return tf.summary.write(tag, tensor, step=step,
                            metadata=_metadata("images", description))


def text(tag, value, step=None):
    """A (markdown) string, as `tf.summary.text` writes it."""
    return tf.summary.write(tag, tf.constant(value, tf.string), step=step,
                            metadata=_metadata("text"))


def read_events(logdir):
    """{tag: [(step, value)]} of every summary in the event files under `logdir`:
    floats for scalars, uint8 arrays [k, H, W, C] for images, str for text."""
    out = {}
    for path in sorted(tf.io.gfile.glob(f"{logdir}/events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                plugin = v.metadata.plugin_data.plugin_name
                tensor = tf.make_ndarray(v.tensor)
                if plugin == "scalars":
                    value = float(tensor)
                elif plugin == "images":
                    value = tf.stack([tf.io.decode_png(p) for p in tensor[2:]]).numpy()
                elif plugin == "text":
                    value = tensor.item().decode()
                else:
                    continue
                out.setdefault(v.tag, []).append((int(event.step), value))
    return out


def read_descriptions(logdir):
    """{tag: description} of the summaries under `logdir` that carry one."""
    out = {}
    for path in sorted(tf.io.gfile.glob(f"{logdir}/events.out.tfevents.*")):
        for event in tf.compat.v1.train.summary_iterator(path):
            for v in event.summary.value:
                if v.metadata.summary_description:
                    out[v.tag] = v.metadata.summary_description
    return out

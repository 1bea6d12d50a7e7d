"""Streaming activations: batch by batch equals all at once, lazily, with a progress bar."""

import io
import re
import sys

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.metrics import streaming


def make_images(n, size=12, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(-1, 1, size=(n, size, size, 3)).astype(np.float32)


def test_batches_equal_all_at_once(tiny_classifier):
    images = make_images(23)
    labels = np.arange(23) % 3
    expected_logits, expected_acts = tiny_classifier.logits_and_activations(images)

    batches = ((images[i:i + 5], labels[i:i + 5]) for i in range(0, 23, 5))
    logits, acts, out_labels = streaming.compute_activations(
        tiny_classifier, batches, progress=False)
    np.testing.assert_allclose(logits, expected_logits, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(acts, expected_acts, rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out_labels, labels)
    assert logits.dtype == np.float32 and out_labels.dtype == np.int32

    # A batched tf.data.Dataset of (images, one-hot labels), truncated mid-batch.
    dataset = tf.data.Dataset.from_tensor_slices(
        (images, tf.one_hot(labels, 3))).batch(4)
    logits, acts, out_labels = streaming.compute_activations(
        tiny_classifier, dataset, num_samples=10, progress=False)
    np.testing.assert_allclose(acts, expected_acts[:10], rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(out_labels, labels[:10])

    # Images only, and dict batches.
    _, acts, out_labels = streaming.compute_activations(
        tiny_classifier, [images[:7], images[7:]], progress=False)
    assert out_labels is None
    np.testing.assert_allclose(acts, expected_acts, rtol=1e-5, atol=1e-6)
    dicts = [{"image": images[:9], "label": labels[:9]}]
    assert len(streaming.compute_activations(tiny_classifier, dicts,
                                             progress=False)[0]) == 9


def test_pulls_batches_lazily_and_stops_at_num_samples(tiny_classifier):
    pulled = []

    def batches():
        for i in range(100):
            pulled.append(i)
            yield make_images(4, seed=i)

    logits, _, _ = streaming.compute_activations(tiny_classifier, batches(),
                                                 num_samples=10, progress=False)
    assert len(logits) == 10
    assert pulled == [0, 1, 2]  # 4 + 4 + 2 of the third batch; no fourth pulled.


def test_generate_activations_calls_generator_per_batch(tiny_classifier):
    calls = []
    fixed = make_images(10, seed=3)

    def generate_fn(labels):
        calls.append(labels.copy())
        assert labels.dtype == np.int32
        return fixed[:len(labels)] + labels[:, None, None, None] * 0.01

    labels = np.array([2, 0, 1, 1, 2, 0, 0])
    logits, acts, out_labels = streaming.generate_activations(
        generate_fn, labels, tiny_classifier, batch_size=3, progress=False)
    assert [list(c) for c in calls] == [[2, 0, 1], [1, 2, 0], [0]]
    np.testing.assert_array_equal(out_labels, labels)
    all_images = np.concatenate([fixed[:3] + c[:, None, None, None] * 0.01
                                 for c in calls[:2]] + [fixed[:1]])
    _, expected = tiny_classifier(all_images)
    np.testing.assert_allclose(acts, expected, rtol=1e-5, atol=1e-6)


def test_progress_bar_on_non_tty_output(tiny_classifier, capsys):
    assert not sys.stdout.isatty()
    batches = (make_images(6, seed=i) for i in range(5))
    logits, _, _ = streaming.compute_activations(tiny_classifier, batches,
                                                 num_samples=30, progress=True)
    assert len(logits) == 30
    out = capsys.readouterr().out
    assert "30/30" in out
    assert "\b" not in out and "\r" not in out  # Lines, not in-place redraws.

    # Unknown total, and fewer images than asked for: the bar still finishes.
    streaming.compute_activations(tiny_classifier, [make_images(5)], progress=True)
    streaming.compute_activations(tiny_classifier, [make_images(5)], num_samples=50,
                                  progress=True)
    out = capsys.readouterr().out
    assert len(re.findall(r"(?<!\d)5/5(?!\d)", out)) == 2


def test_progress_bar_with_stdout_lacking_isatty(tiny_classifier, monkeypatch):
    class Sink(io.StringIO):
        isatty = None  # Some log wrappers have no usable isatty.

    sink = Sink()
    del Sink.isatty
    monkeypatch.setattr(sys, "stdout", sink)
    streaming.compute_activations(tiny_classifier, [make_images(3)], progress=True)
    assert "3/3" in sink.getvalue()


def test_errors(tiny_classifier):
    with pytest.raises(ValueError, match="`num_samples` must be positive. "
                       "Received: num_samples=0"):
        streaming.compute_activations(tiny_classifier, [make_images(2)],
                                      num_samples=0)
    with pytest.raises(ValueError, match="produced no images"):
        streaming.compute_activations(tiny_classifier, [], progress=False)
    with pytest.raises(ValueError, match="all batches or none"):
        streaming.compute_activations(
            tiny_classifier, [(make_images(2), np.zeros(2, int)), make_images(2)],
            progress=False)
    with pytest.raises(ValueError, match="returned 2 images for 3 labels"):
        streaming.generate_activations(lambda y: make_images(2), np.zeros(3, int),
                                       tiny_classifier, batch_size=3, progress=False)

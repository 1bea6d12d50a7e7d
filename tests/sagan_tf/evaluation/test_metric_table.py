"""sagan_tf.evaluation.metric_table: every reader of the metrics follows the one table."""

import dataclasses
import pathlib

import numpy as np
import pytest

from sagan_tf.evaluation import format_results, metric_table, metrics_run, protocols


def test_every_row_is_complete_and_its_key_unique():
    keys = [row.key for row in metric_table.METRICS]
    assert len(keys) == len(set(keys)) and tuple(keys) == metric_table.METRIC_NAMES
    for row in metric_table.METRICS:
        assert row.prefix and row.summary and callable(row.compute), row.key
        assert row.needs <= set(metric_table.NEEDS), row.key
    with pytest.raises(ValueError, match="Unknown metric. Received: 'nope'"):
        metric_table.metric("nope")


@pytest.mark.parametrize("row", metric_table.METRICS, ids=lambda row: row.key)
def test_every_row_has_its_protocol_name_and_its_printed_line(row):
    name = protocols.protocol_names(2000, "test")[row.key]
    # The name is the prefix, the count, the split when the metric reads real images.
    expected = row.prefix + "2k" + ("_test" if row.reads_real else "") + row.suffix
    assert name == expected
    results = protocols.with_protocols({row.key: 0.5}, 2000, "test")
    assert f"{name:>24}: 0.5000" in format_results(results)


def test_a_shared_function_runs_once_for_all_its_rows():
    calls = []

    def pair(measured):
        calls.append(measured)
        return {"a": 1.0, "b": 2.0}

    rows = [metric_table.Metric("a", "a", frozenset(), pair, "A."),
            metric_table.Metric("b", "b", frozenset(), pair, "B.")]
    assert metric_table.compute_all("measured", rows) == {"a": 1.0, "b": 2.0}
    assert calls == ["measured"]


def test_a_metric_on_the_images_gets_the_generated_images(tiny_classifier, monkeypatch):
    """A row that needs IMAGES is handed exactly the images `generate_fn` returned."""
    returned = []

    def generate(labels):
        rng = np.random.default_rng(len(returned))
        images = rng.uniform(-1, 1, size=(len(labels), 8, 8, 3)).astype(np.float32)
        returned.append(images)
        return images

    def brightness(measured):
        return {"brightness": float(measured.fake_images.mean())}

    row = metric_table.Metric("brightness", "brightness",
                              frozenset({metric_table.IMAGES}), brightness, "Mean pixel.")
    monkeypatch.setattr(metric_table, "METRICS", metric_table.METRICS + (row,))
    real = [(np.zeros((10, 8, 8, 3), np.float32), np.arange(10) % 3)]
    results = metrics_run.evaluate(generate, real, tiny_classifier, num_samples=10,
                                   batch_size=4, num_classes=3, progress=False,
                                   compute_intra_fid=False, compute_manifold=False)
    # Independent: the mean of what the generator handed out (3 calls: 4 + 4 + 2).
    assert len(returned) == 3
    assert results["brightness"] == pytest.approx(np.concatenate(returned).mean(), abs=1e-6)


def test_rows_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        metric_table.METRICS[0].key = "x"


def test_the_docs_describe_every_metric():
    text = (pathlib.Path(__file__).resolve().parents[3] / "docs" / "evaluation.md").read_text()
    for row in metric_table.METRICS:
        assert f"| `{row.key}` |" in text, row.key

import numpy as np
import pytest
import tensorflow as tf

import sagan_tf
from noise_reference import documented_z
from sagan_tf import evaluation, metrics


def test_latents_rows_do_not_depend_on_the_batch_size():
    calls = []

    def call(z, labels):
        calls.append(z.numpy())
        return tf.zeros([len(labels), 2, 2, 3])

    source = evaluation.GeneratorSource(call=call, z_dim=4, resolution=2)
    for batch in (7, 20):
        generate_fn = evaluation.generate_fn(source, 20, seed=5)
        for start in range(0, 20, batch):
            generate_fn(np.zeros(min(batch, 20 - start), np.int32))
    by_7, by_20 = np.concatenate(calls[:3]), calls[3]
    np.testing.assert_array_equal(by_7, by_20)
    # sagan_tf.noise's formula (SciPy), the z of the export's generate(seed=5).
    np.testing.assert_allclose(by_20, documented_z(5, 20, 4), rtol=0, atol=1e-6)
    with pytest.raises(ValueError, match="more than num_samples"):
        generate_fn(np.zeros(1, np.int32))


def test_an_unconditional_keras_generator_is_called_on_z_alone():
    g = sagan_tf.build_generator("sagan32", None, channels=[8, 8, 8])
    source = evaluation.from_keras(g, num_classes=10)
    assert not source.conditional and source.num_classes is None
    z = tf.constant(documented_z(2, 3, 128))
    np.testing.assert_allclose(source.call(z, tf.constant([4, 1, 7])).numpy(),
                               g(z, training=False).numpy(), atol=1e-3)  # graph vs eager


def _fixed_source(images):
    """A source whose generator returns `images` (rows taken in order)."""
    rows = iter(range(len(images)))

    def call(z, labels):
        return tf.constant(np.stack([images[next(rows)] for _ in range(len(labels))]))

    return evaluation.GeneratorSource(call=call, z_dim=2, resolution=images.shape[1])


def test_generated_images_reach_the_classifier_quantized_as_real_images():
    rng = np.random.default_rng(0)
    # Beyond [-1, 1] (clipped), exactly on rounding boundaries, and at random.
    edges = np.array([-1.3, -1.0, -1.0 + 0.5 / 127.5, 0.0, 1.0 - 0.5 / 127.5, 1.0, 1.2])
    images = np.concatenate([np.resize(edges, (1, 2, 2, 3)),
                             rng.uniform(-1.1, 1.1, (5, 2, 2, 3))]).astype(np.float32)
    generate = evaluation.generate_fn(_fixed_source(images), 6, seed=0)
    quantized = np.concatenate([generate(np.zeros(3, np.int32)) for _ in range(2)])
    # NumPy's round trip in the images' float32 (a boundary value such as
    # 1 - 0.5/127.5 is 254.5 - 2e-5 there, not 254.5): what a PNG of them holds.
    scaled = (images[:6] + np.float32(1.0)) * np.float32(127.5)
    expected = np.clip(np.rint(scaled), 0, 255).astype(np.uint8)
    assert quantized.dtype == np.uint8
    np.testing.assert_array_equal(quantized, expected)
    # The classifier sees them as it sees real images decoded from files.
    classifier = metrics.Classifier(lambda x: (x[:, 0, 0, :], x[:, 0, 0, :]), (2, 2),
                                    "identity")
    seen = classifier.preprocess(quantized).numpy()
    np.testing.assert_allclose(seen, expected / 127.5 - 1.0, rtol=0, atol=1e-7)
    assert len(np.unique(seen)) <= 256

    floats = evaluation.generate_fn(_fixed_source(images), 6, seed=0, quantize=False)
    np.testing.assert_array_equal(floats(np.zeros(6, np.int32)), images[:6])


def test_evaluate_source_quantizes_unless_asked_not_to():
    images = np.full((4, 2, 2, 3), 0.3, np.float32)  # 0.3 is no uint8 level
    for quantize, expected in ((True, np.rint(1.3 * 127.5) / 127.5 - 1.0), (False, 0.3)):
        settings = evaluation.EvalSettings(num_samples=4, batch_size=2, progress=False,
                                           quantize_generated=quantize)
        seen = []

        def evaluate_fn(generate_fn, *args, **kwargs):
            seen.append(metrics.Classifier(lambda x: (x, x), (2, 2), "identity")
                        .preprocess(generate_fn(np.zeros(4, np.int32))).numpy())
            return {}

        results = evaluation.evaluate_source(_fixed_source(images), None, None, settings,
                                             None, evaluate_fn=evaluate_fn)
        np.testing.assert_allclose(seen[0], expected, rtol=0, atol=1e-7)
        assert results["generated_images"] == ("uint8" if quantize else "float32")

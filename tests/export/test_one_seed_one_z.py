"""One seed, one z: what sagan-eval scores for --seed=s is what the export's
`generate(seed=s)` returns for the same labels, and the training sample grid's z."""

import numpy as np
import tensorflow as tf

from sagan_tf import evaluation, metrics, noise
from sagan_tf.callbacks.sample_grid import fixed_noise


def _tiny_classifier():
    def fn(images):  # logits: the first pixels; activations: the mean colour
        flat = tf.reshape(images, [tf.shape(images)[0], -1])
        return flat[:, :10], tf.reduce_mean(images, axis=[1, 2])
    return metrics.Classifier(fn, 32, name="tiny")


def test_sagan_eval_scores_the_images_generate_returns(model_dir, saved_model_dir):
    seed, num_samples, batch_size = 11, 30, 8
    source = evaluation.from_run_dir(model_dir)  # what run_evaluation evaluates
    scored = []

    def recording_call(z, labels):
        images = source_call(z, labels)
        scored.append((labels.numpy(), np.asarray(images)))
        return images

    source_call, source.call = source.call, recording_call
    settings = evaluation.EvalSettings(num_samples=num_samples, batch_size=batch_size,
                                       seed=seed, progress=False)
    results = evaluation.evaluate_source(
        source, evaluation.real_batches("digits", 32, batch_size), _tiny_classifier(),
        settings, num_classes=10)
    assert np.isfinite(results["fid"])
    labels = np.concatenate([l for l, _ in scored])
    images = np.concatenate([i for _, i in scored])
    assert len(labels) == num_samples and len(set(labels.tolist())) == 10
    generate = tf.saved_model.load(saved_model_dir).signatures["generate"]
    served = generate(labels=tf.constant(labels, tf.int32), seed=tf.constant(seed, tf.int64),
                      truncation=tf.constant(0.0))["images_float"].numpy()
    np.testing.assert_allclose(images, served, atol=2e-5)  # one graph vs another: rounding
    other = generate(labels=tf.constant(labels, tf.int32), seed=tf.constant(seed + 1, tf.int64),
                     truncation=tf.constant(0.0))["images_float"].numpy()
    assert np.abs(images - other).max() > 0.1  # the seed matters: the check is not trivial


def test_the_training_sample_grid_shows_the_z_of_generate():
    """The grid's column j is row j of the serving stream, which `generate` draws."""
    z = fixed_noise(seed=5, columns=4, latent_dim=128).numpy()
    np.testing.assert_array_equal(z, noise.latents(5, 4, 128, stream=noise.SERVING).numpy())

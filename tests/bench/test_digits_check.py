"""bench/digits_check.py: the round trip to the 8x8 digits its classifier reads."""

import numpy as np

import digits_check


def test_features_are_the_4x4_area_mean_of_the_channel_mean_in_0_16():
    rng = np.random.default_rng(0)
    images = rng.uniform(-1.2, 1.2, (3, 32, 32, 3))
    features = digits_check.to_digit_features(images).reshape(3, 8, 8)
    for n in range(3):
        for i in range(8):
            for j in range(8):
                block = images[n, 4 * i:4 * i + 4, 4 * j:4 * j + 4].mean()
                assert np.isclose(features[n, i, j], (min(max(block, -1), 1) + 1) * 8)


def test_the_classifier_reads_the_pipelines_upscaled_real_digits():
    from sagan_tf.data.digits import digits_arrays

    classifier = digits_check.fit_classifier()
    images, labels = digits_arrays("test", resolution=32)
    accuracy = np.mean(classifier.predict(digits_check.to_digit_features(images)) == labels)
    assert accuracy > 0.97

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


def test_mean_pairwise_distance_is_scipys_pdist_mean():
    from scipy.spatial.distance import pdist

    rng = np.random.default_rng(1)
    features = rng.uniform(0, 16, (37, 64))
    assert np.isclose(digits_check.mean_pairwise_distance(features), pdist(features).mean(),
                      rtol=1e-10)


def test_variety_is_zero_for_one_image_per_class_and_one_for_the_real_digits_themselves():
    rng = np.random.default_rng(2)
    real = rng.uniform(0, 16, (60, 64))
    real_labels = np.repeat(np.arange(3), 20)
    collapsed = np.repeat(real[::20], 20, axis=0)  # each class: 20 copies of one digit
    variety, coverage, per_class = digits_check.variety_and_coverage(
        collapsed, real_labels, real, real_labels)
    # Identical rows are 0 apart up to the rounding of the distance computation (|x|^2 +
    # |y|^2 - 2xy with |x|^2 ~ 5e3 in float64): far below the 1e-6 allowed here.
    assert abs(variety) < 1e-6 and sorted(per_class) == [0, 1, 2]
    variety, coverage, _ = digits_check.variety_and_coverage(real, real_labels, real,
                                                             real_labels)
    assert np.isclose(variety, 1.0) and coverage == 1.0


def test_coverage_is_the_brute_force_fraction_of_real_balls_that_hold_a_generated_digit():
    rng = np.random.default_rng(3)
    real = rng.normal(size=(40, 5))
    fake = rng.normal(0.7, 1.0, size=(30, 5))
    real_labels, fake_labels = np.repeat([0, 1], 20), np.repeat([0, 1], 15)
    _, coverage, per_class = digits_check.variety_and_coverage(fake, fake_labels, real,
                                                               real_labels, k=3)
    expected = []
    for c in (0, 1):
        r, f = real[real_labels == c], fake[fake_labels == c]
        d_rr = np.linalg.norm(r[:, None] - r[None], axis=-1)
        radii = np.sort(d_rr, axis=1)[:, 3]  # column 0 is the point itself
        d_rf = np.linalg.norm(r[:, None] - f[None], axis=-1)
        expected.append(np.mean((d_rf <= radii[:, None]).any(axis=1)))
        assert np.isclose(per_class[c][1], expected[-1])
    assert np.isclose(coverage, np.mean(expected))

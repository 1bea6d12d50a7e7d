"""Metrics from precomputed outputs, each against an independent NumPy/SciPy formula."""

import numpy as np
import pytest
import scipy.linalg
import scipy.special

from sagan_tf.metrics import scores


def numpy_fid(x, y):
    mu_x, mu_y = x.mean(axis=0), y.mean(axis=0)
    cov_x, cov_y = np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    covmean = scipy.linalg.sqrtm(cov_x @ cov_y)
    covmean = np.real(covmean)
    return float(np.sum((mu_x - mu_y) ** 2) + np.trace(cov_x + cov_y - 2 * covmean))


def numpy_inception_score(logits):
    p_yx = scipy.special.softmax(logits.astype(np.float64), axis=1)
    p_y = p_yx.mean(axis=0)
    kl = np.sum(p_yx * (np.log(p_yx) - np.log(p_y)), axis=1)
    return float(np.exp(kl.mean()))


def numpy_unbiased_mmd2(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1.0) ** 3  # noqa: E731
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    m, n = len(x), len(y)
    return ((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
            + (kyy.sum() - np.trace(kyy)) / (n * (n - 1))
            - 2.0 * kxy.mean())


def random_activations(rng, n, d, shift=0.0, scale=1.0):
    mixing = rng.normal(size=(d, d)) / np.sqrt(d)
    return (rng.normal(size=(n, d)) @ mixing * scale + shift).astype(np.float32)


def test_frechet_distance_matches_scipy_sqrtm():
    rng = np.random.default_rng(0)
    real = random_activations(rng, 300, 16)
    fake = random_activations(rng, 200, 16, shift=0.3, scale=1.5)
    expected = numpy_fid(real.astype(np.float64), fake.astype(np.float64))
    result = scores.frechet_distance(real, fake)
    assert isinstance(result, float)
    assert result == pytest.approx(expected, rel=1e-6)


def test_frechet_distance_of_a_set_with_itself_is_zero():
    rng = np.random.default_rng(1)
    real = random_activations(rng, 100, 8)
    assert scores.frechet_distance(real, real) == pytest.approx(0.0, abs=1e-6)


def test_frechet_distance_from_moments_equals_the_one_from_activations():
    rng = np.random.default_rng(5)
    real = random_activations(rng, 400, 6)
    fake = random_activations(rng, 300, 6, shift=0.5, scale=1.2)
    from_moments = scores.frechet_distance_from_moments(
        real.astype(np.float64).mean(0), np.cov(real.astype(np.float64), rowvar=False), fake)
    assert from_moments == pytest.approx(scores.frechet_distance(real, fake), rel=1e-9)
    assert from_moments == pytest.approx(numpy_fid(real.astype(np.float64),
                                                   fake.astype(np.float64)), rel=1e-6)
    with pytest.raises(ValueError, match="must describe 6 features"):
        scores.frechet_distance_from_moments(np.zeros(5), np.eye(5), fake)


def test_inception_score_matches_numpy_formula():
    rng = np.random.default_rng(2)
    logits = rng.normal(scale=3.0, size=(500, 10)).astype(np.float32)
    result = scores.inception_score(logits)
    assert isinstance(result, float)
    assert result == pytest.approx(numpy_inception_score(logits), rel=1e-9)
    assert 1.0 <= result <= 10.0


def test_inception_score_extremes():
    # Confident and uniformly spread over 4 classes: score = 4; all the same: 1.
    confident = np.repeat(np.eye(4) * 100.0, 5, axis=0)
    assert scores.inception_score(confident) == pytest.approx(4.0, rel=1e-6)
    assert scores.inception_score(np.zeros((7, 4))) == pytest.approx(1.0)


def salimans_inception_score(logits, splits=10):
    """improved-gan's `get_inception_score` (Salimans et al. 2016) on given logits: the
    softmax, then per split `exp(mean KL(p(y|x) || p(y)))`, np.mean and np.std."""
    preds = scipy.special.softmax(logits.astype(np.float64), axis=1)
    split_scores = []
    for i in range(splits):
        part = preds[(i * preds.shape[0] // splits):((i + 1) * preds.shape[0] // splits), :]
        kl = part * (np.log(part) - np.log(np.expand_dims(np.mean(part, 0), 0)))
        kl = np.mean(np.sum(kl, 1))
        split_scores.append(np.exp(kl))
    return np.mean(split_scores), np.std(split_scores)


@pytest.mark.parametrize("num_samples,splits", [(503, 10), (40, 3), (12, 1)])
def test_inception_score_splits_match_salimans_numpy_code(num_samples, splits):
    rng = np.random.default_rng(4)
    logits = rng.normal(scale=3.0, size=(num_samples, 7)).astype(np.float32)
    mean, std = scores.inception_score_splits(logits, splits)
    expected_mean, expected_std = salimans_inception_score(logits, splits)
    # Both in float64 from the same float32 logits; TF-GAN's log-softmax and NumPy's
    # log(softmax) differ by a few ulps per term, far below 1e-9 relative.
    assert mean == pytest.approx(expected_mean, rel=1e-9)
    assert std == pytest.approx(expected_std, rel=1e-7, abs=1e-12)
    if splits == 1:  # one split is the one-pass score
        assert mean == pytest.approx(scores.inception_score(logits), rel=1e-12)
        assert std == 0.0


def test_inception_score_splits_refuse_more_splits_than_samples():
    with pytest.raises(ValueError, match=r"`num_splits` must be in \[1, num_samples\]"):
        scores.inception_score_splits(np.zeros((5, 3)), 10)


def test_kernel_distance_single_block_is_plain_unbiased_mmd2():
    rng = np.random.default_rng(3)
    real = random_activations(rng, 120, 12)
    fake = random_activations(rng, 90, 12, shift=0.5)
    kid, kid_std = scores.kernel_distance(real, fake)
    expected = numpy_unbiased_mmd2(real.astype(np.float64), fake.astype(np.float64))
    assert isinstance(kid, float)
    assert kid == pytest.approx(expected, rel=1e-9)
    assert np.isnan(kid_std)  # One block: no standard error.


def test_kernel_distance_blocks_average_and_standard_error():
    rng = np.random.default_rng(4)
    real = random_activations(rng, 103, 6).astype(np.float64)
    fake = random_activations(rng, 70, 6, shift=0.2).astype(np.float64)
    block = 30  # ceil(103 / 30) = 4 blocks of sizes 25,26,26,26 and 17,17,18,18.

    def split(x, num_blocks):
        # TF-GAN puts the one-larger blocks last.
        small, extra = divmod(len(x), num_blocks)
        sizes = [small] * (num_blocks - extra) + [small + 1] * extra
        return np.split(x, np.cumsum(sizes)[:-1])

    estimates = [numpy_unbiased_mmd2(r, f)
                 for r, f in zip(split(real, 4), split(fake, 4))]
    kid, kid_std = scores.kernel_distance(real, fake, max_block_size=block)
    assert kid == pytest.approx(np.mean(estimates), rel=1e-9)
    assert kid_std == pytest.approx(np.std(estimates, ddof=1) / np.sqrt(4), rel=1e-9)


def test_intra_fid_is_mean_of_per_class_numpy_fid():
    rng = np.random.default_rng(5)
    num_classes = 3
    real_labels = rng.integers(0, num_classes, size=240).astype(np.int32)
    fake_labels = np.arange(150) % num_classes
    real = random_activations(rng, 240, 5) + real_labels[:, None]
    fake = random_activations(rng, 150, 5, shift=0.2) + fake_labels[:, None] * 1.2
    expected = [numpy_fid(real[real_labels == c].astype(np.float64),
                          fake[fake_labels == c].astype(np.float64))
                for c in range(num_classes)]
    mean, per_class = scores.intra_fid(real, real_labels, fake, fake_labels,
                                       num_classes)
    assert per_class == pytest.approx(expected, rel=1e-6)
    assert mean == pytest.approx(np.mean(expected), rel=1e-6)
    assert all(isinstance(v, float) for v in [mean] + per_class)


def test_validation_errors():
    rng = np.random.default_rng(6)
    good = rng.normal(size=(10, 4))
    with pytest.raises(ValueError, match=r"`real_activations` must be a 2D array "
                       r"\[num_samples, num_features\]. Received: shape=\(3,\)"):
        scores.frechet_distance(np.zeros(3), good)
    with pytest.raises(ValueError, match="same number of features"):
        scores.frechet_distance(good, rng.normal(size=(10, 5)))
    with pytest.raises(ValueError, match="`fake_activations` must have at least 2"):
        scores.frechet_distance(good, good[:1])
    with pytest.raises(ValueError, match="NaN or infinite"):
        scores.kernel_distance(good, np.full((5, 4), np.nan))
    with pytest.raises(ValueError, match="`logits` must be a 2D array"):
        scores.inception_score(np.zeros((2, 3, 4)))
    with pytest.raises(ValueError, match="fewer than 2 samples"):
        scores.kernel_distance(rng.normal(size=(50, 4)), good[:3], max_block_size=10)


def test_intra_fid_errors_name_the_empty_class():
    rng = np.random.default_rng(7)
    acts = rng.normal(size=(20, 3))
    labels = np.arange(20) % 4
    fake_labels = np.where(labels == 2, 1, labels)  # No fake samples of class 2.
    with pytest.raises(ValueError, match=r"2 fake samples.*class 2: 0"):
        scores.intra_fid(acts, labels, acts, fake_labels, num_classes=4)
    with pytest.raises(ValueError, match=r"must be in \[0, num_classes\)"):
        scores.intra_fid(acts, labels, acts, labels, num_classes=3)
    with pytest.raises(ValueError, match="one label per sample"):
        scores.intra_fid(acts, labels[:5], acts, labels, num_classes=4)
    with pytest.raises(ValueError, match="integer class ids"):
        scores.intra_fid(acts, labels.astype(float), acts, labels, num_classes=4)

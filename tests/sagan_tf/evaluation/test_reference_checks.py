"""Bad reference files refused by name on load: truncated or random bytes, a NaN in
`mu`, a `sigma` of the wrong shape or not symmetric, activations of another width; and
the file is left as it was."""

import io
import os

import numpy as np
import pytest

from sagan_tf.evaluation import reference_stats
from sagan_tf.evaluation.generators import EvalError

D = 4


def _good():
    rng = np.random.default_rng(0)
    acts = rng.normal(size=(20, D))
    return dict(mu=acts.mean(0), sigma=np.cov(acts, rowvar=False),
                activations=acts.astype(np.float32), labels=np.zeros(20, np.int32))


def _npz(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _write(tmp_path, data):
    path = tmp_path / "ref.npz"
    path.write_bytes(data)
    return str(path)


def test_a_good_file_loads(tmp_path):
    stats = reference_stats.load_reference_stats(_write(tmp_path, _npz(_good())))
    np.testing.assert_array_equal(stats.mean, _good()["mu"])


def _nan_mu(a):
    a["mu"][1] = np.nan


def _inf_sigma(a):
    a["sigma"][0, 0] = np.inf


def _nan_activations(a):
    a["activations"][3, 2] = np.nan


def _sigma_shape(a):
    a["sigma"] = a["sigma"][:3, :3]


def _asymmetric(a):
    a["sigma"][0, 1] += 0.5


def _activations_width(a):
    a["activations"] = a["activations"][:, :3]


def _labels_count(a):
    a["labels"] = a["labels"][:5]


BAD_ARRAYS = {
    "nan mu": (_nan_mu, r"`mu` holds 1 non-finite value\(s\)"),
    "inf sigma": (_inf_sigma, r"`sigma` holds 1 non-finite value\(s\)"),
    "nan activations": (_nan_activations, r"`activations` holds 1 non-finite"),
    "sigma shape": (_sigma_shape, r"`sigma` must be \[d, d\] for `mu` of shape \[d\]. "
                                  r"Received: mu.shape=\(4,\), sigma.shape=\(3, 3\)"),
    "asymmetric sigma": (_asymmetric, "`sigma` is not symmetric"),
    "activations width": (_activations_width, r"`activations` must be \[n, 4\]"),
    "labels count": (_labels_count, r"`labels` must be \[20\]"),
}


@pytest.mark.parametrize("case", sorted(BAD_ARRAYS))
def test_bad_arrays_are_refused_by_name_and_the_file_is_kept(tmp_path, case):
    damage, message = BAD_ARRAYS[case]
    arrays = _good()
    damage(arrays)
    data = _npz(arrays)
    path = _write(tmp_path, data)
    with pytest.raises(EvalError, match=message) as raised:
        reference_stats.load_reference_stats(path)
    assert path in str(raised.value) and "sagan-fid-stats" in str(raised.value)
    assert open(path, "rb").read() == data  # nothing moved or rewritten


def test_a_covariance_symmetric_to_float32_rounding_is_accepted(tmp_path):
    arrays = _good()
    arrays["sigma"] = arrays["sigma"].astype(np.float32)  # as a float32 tool writes it
    arrays["sigma"][0, 1] = np.nextafter(arrays["sigma"][0, 1], np.float32(np.inf))
    reference_stats.load_reference_stats(_write(tmp_path, _npz(arrays)))


@pytest.mark.parametrize("cut", [0.5, 0.9])
def test_a_truncated_npz_is_refused_by_name(tmp_path, cut):
    data = _npz(_good())
    path = _write(tmp_path, data[:int(len(data) * cut)])
    with pytest.raises(EvalError, match="is a truncated or damaged .npz file .*sagan-fid-stats"):
        reference_stats.load_reference_stats(path)


def test_random_bytes_are_refused_by_name_not_as_pickled_data(tmp_path):
    path = _write(tmp_path, os.urandom(4096))
    with pytest.raises(EvalError, match="is not an .npz file") as raised:
        reference_stats.load_reference_stats(path)
    assert "pickle" not in str(raised.value)

import numpy as np
import pytest
import tensorflow as tf

from sagan_tf.layers.column_sums import column_sums


@pytest.mark.parametrize("per_example, axes", [(False, (0, 1, 2)), (True, (1, 2))])
def test_sums_every_axis_but_the_last_against_numpy(per_example, axes):
    t = np.random.RandomState(0).randn(3, 5, 4, 6).astype("float32")
    got = column_sums(tf.constant(t), per_example).numpy()
    np.testing.assert_allclose(got, t.astype("float64").sum(axis=axes), rtol=1e-5, atol=1e-5)


def test_bfloat16_sums_accumulate_wide_and_round_once():
    """4,096 ones: a bfloat16 accumulator stalls at 256 (256 + 1 rounds back to 256);
    a float32 one reaches 4,096, which the bfloat16 result holds exactly."""
    t = np.ones((4096, 2), "float32")
    got = column_sums(tf.cast(tf.constant(t), "bfloat16"))
    assert got.dtype == tf.bfloat16
    np.testing.assert_array_equal(tf.cast(got, "float32").numpy(), [4096.0, 4096.0])

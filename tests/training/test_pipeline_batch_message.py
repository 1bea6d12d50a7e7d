"""A training step larger than the data is explained in the program's flags."""

import re

import pytest

from training import pipeline


def test_too_large_a_grad_accum_is_explained_in_flags(tiny, tmp_path):
    config = tiny.config(tmp_path, batch_size=64, grad_accum=64)  # 4096 > 1438 digits
    with pytest.raises(ValueError, match=re.escape(
            "One training step takes --batch_size x --d_steps x --grad_accum = 64 x 1 x 64 "
            "= 4096 examples, more than the data 'digits' holds (")) as raised:
        pipeline.load(config)
    message = str(raised.value)
    assert "Lower --grad_accum, --d_steps or --batch_size." in message
    assert "global_batch_size" not in message and "drop_remainder" not in message

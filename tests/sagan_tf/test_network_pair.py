import pytest

import sagan_tf
from sagan_tf.network_pair import check_network_pair


def _pair(g_classes, d_classes):
    g = sagan_tf.build_generator("sagan32", g_classes, channels=[8, 8, 8])
    d = sagan_tf.build_discriminator("sagan32", d_classes, channels=[8, 8, 8, 8])
    return g, d


def test_a_matching_pair_reports_whether_it_is_conditional():
    assert check_network_pair(*_pair(3, 3)) is True
    assert check_network_pair(*_pair(None, None)) is False


@pytest.mark.parametrize("g_classes,d_classes,match", [
    (3, 4, r"same number of classes.*generator num_classes=3, discriminator num_classes=4"),
    (3, None, r"both be class-conditional or both unconditional.*a class-conditional "
              r"generator and an unconditional discriminator"),
    (None, 3, r"an unconditional generator and a class-conditional discriminator"),
])
def test_mismatched_pairs_are_refused_by_name(g_classes, d_classes, match):
    with pytest.raises(ValueError, match=match):
        check_network_pair(*_pair(g_classes, d_classes))

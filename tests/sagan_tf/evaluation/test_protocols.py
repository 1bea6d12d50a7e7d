"""Tests of sagan_tf.evaluation.protocols: the names the literature uses."""

from sagan_tf.evaluation import protocols


def test_names_carry_the_generated_count_and_the_real_split():
    names = protocols.protocol_names(50000, "train")
    assert names["fid"] == "fid50k_train" and names["kid"] == "kid50k_train"
    assert names["kid_std"] == "kid50k_train_std"
    assert names["inception_score"] == "is50k"  # reads no real image
    # Salimans' splits: the number of splits is in the name (scores.DEFAULT_IS_SPLITS).
    assert names["inception_score_splits_mean"] == "is50k_10splits"
    assert names["inception_score_splits_std"] == "is50k_10splits_std"
    assert names["class_accuracy"] == "class_accuracy50k"
    assert names["precision"] == "precision50k_train"
    assert protocols.protocol_name("fid", 10000, "test") == "fid10k_test"
    assert protocols.protocol_name("fid", 359, "test") == "fid359_test"
    assert protocols.protocol_name("fid", 1500, "train[:10%]") == "fid1500_train_10"
    assert protocols.protocol_name("recall", 2000, None) == "recall2k_real"


def test_with_protocols_adds_the_named_figures_beside_the_plain_ones():
    results = {"fid": 1.5, "kid": None, "inception_score": 9.0, "warnings": []}
    named = protocols.with_protocols(results, 2000, "test")
    assert named["fid2k_test"] == 1.5 and named["fid"] == 1.5
    assert named["kid2k_test"] is None and named["is2k"] == 9.0
    assert named["protocols"] == {"fid": "fid2k_test", "kid": "kid2k_test",
                                  "inception_score": "is2k"}
    assert "warnings" not in named["protocols"] and results == {
        "fid": 1.5, "kid": None, "inception_score": 9.0, "warnings": []}

import statistics

import pytest

import vs_studiogan


def test_last_json_takes_the_last_parsable_object_line():
    text = 'log {"a": 1}\n{"a": 2}\nnot json\n{broken\n'
    assert vs_studiogan.last_json(text) == {"a": 2}
    with pytest.raises(ValueError, match="No JSON line"):
        vs_studiogan.last_json("nothing here\n")


def test_order_alternates_which_side_runs_first():
    assert vs_studiogan.order(3) == [("studiogan", "ours"), ("ours", "studiogan"),
                                     ("studiogan", "ours")]


def test_summary_is_median_ratio_against_the_targets():
    studiogan = [9.0, 11.5, 10.2]
    ours = {"float32": [4.4, 4.5, 4.3], "mixed_bfloat16": [3.1, 3.0, 3.2]}
    s = vs_studiogan.summarize(studiogan, ours)
    assert s["studiogan_float32_s_per_iter"] == 10.2
    assert s["float32"]["speedup"] == pytest.approx(10.2 / statistics.median([4.4, 4.5, 4.3]))
    assert s["float32"]["met"] and s["float32"]["target"] == 2.0
    assert s["mixed_bfloat16"]["speedup"] == pytest.approx(10.2 / 3.1)
    assert not s["mixed_bfloat16"]["met"]


def test_machine_is_read_from_train_steps_json():
    entry = {"device": "AMD EPYC 7B13 (2 logical cores)", "onednn": True,
             "cpu_features": ["avx2"], "s_per_iter": 8.2}
    assert vs_studiogan.machine_of({"float32": entry, "mixed_bfloat16": dict(entry)}) == {
        "device": "AMD EPYC 7B13 (2 logical cores)", "onednn": True, "cpu_features": ["avx2"]}

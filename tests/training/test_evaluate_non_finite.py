"""sagan-eval never writes a non-finite metric silently: results holding NaN or inf are
refused by name, rc != 0, and no JSON is written."""

import math

import pytest
from absl import flags

from sagan_tf.evaluation import finite_results
from training import evaluate


def test_non_finite_names_every_nan_and_inf_and_nothing_else():
    results = {"fid": math.nan, "kid": 0.1, "per_class": {"3": math.inf, "4": 2.0},
               "curve": [1.0, -math.inf], "name": "nan", "steps": 7}
    assert sorted(finite_results.non_finite(results)) == [
        "curve[1]=-inf", "fid=nan", "per_class.3=inf"]
    assert finite_results.non_finite({"fid": 3.0, "kid": [0.0]}) == []


def test_sagan_eval_refuses_a_nan_fid_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(evaluate, "run_evaluation",
                        lambda options, verbose: {"fid": math.nan, "kid": 0.5})
    output = tmp_path / "eval.json"
    flags.FLAGS.unparse_flags()
    flags.FLAGS(["sagan-eval", f"--model_dir={tmp_path}", f"--output={output}",
                 "--noprogress"])
    try:
        with pytest.raises(SystemExit) as exit_info:
            evaluate.main(["sagan-eval"])
    finally:
        flags.FLAGS.unparse_flags()
    assert str(exit_info.value.code) == (
        "sagan-eval: error: the results hold non-finite values: fid=nan. Nothing was "
        "written. A NaN usually comes from the inputs: check the reference file and the "
        "checkpoint (a diverged run has NaN weights).")
    assert not output.exists() and list(tmp_path.iterdir()) == []

"""bench/quality.py's statistics against independent computations."""

import itertools
import pathlib

import numpy as np
import pytest
from scipy import stats

import quality


def _run(fid, seed, **extra):
    return dict(dict.fromkeys(quality.METRICS), fid=fid, seed=seed, **extra)


def test_arm_summary_is_mean_and_sample_std():
    fids = [1.2, 1.5, 1.1, 2.0, 1.3]
    summary = quality.arm_summary([_run(f, i, kid=None) for i, f in enumerate(fids)])
    assert summary["fid"]["mean"] == pytest.approx(sum(fids) / 5)
    mean = sum(fids) / 5
    assert summary["fid"]["std"] == pytest.approx((sum((f - mean) ** 2 for f in fids) / 4) ** 0.5)
    assert summary["fid"]["n"] == 5
    assert "kid" not in summary  # metrics a run did not report are left out, not zero


def test_bootstrap_interval_matches_the_exact_bootstrap_distribution():
    a, b = [1.0, 1.4, 2.2], [0.9, 1.0, 1.6]
    # Every equally likely resample of both arms (27 x 27), enumerated.
    exact = sorted(np.mean(x) - np.mean(y) for x in itertools.product(a, repeat=3)
                   for y in itertools.product(b, repeat=3))
    low, high = quality.bootstrap_interval(a, b, resamples=200000)
    assert low == pytest.approx(np.percentile(exact, 2.5), abs=0.02)
    assert high == pytest.approx(np.percentile(exact, 97.5), abs=0.02)


def test_compare_reports_welch_and_the_exact_mann_whitney_test():
    a, b = [3.0, 3.2, 2.9, 3.5, 3.1], [1.0, 1.3, 0.9, 1.2, 1.1]
    result = quality.compare(a, b)
    mean_a, mean_b = np.mean(a), np.mean(b)
    var_a, var_b = np.var(a, ddof=1) / 5, np.var(b, ddof=1) / 5
    assert result["difference"] == pytest.approx(mean_a - mean_b)
    assert result["welch_t"] == pytest.approx((mean_a - mean_b) / np.sqrt(var_a + var_b))
    # Complete separation of 5 and 5: U = 25 and the exact two-sided p = 2 / C(10, 5).
    assert result["mann_whitney_u"] == 25
    assert result["mann_whitney_p"] == pytest.approx(2 / 252)
    assert result["bootstrap_95"][0] > 0
    assert stats.ttest_ind(a, b, equal_var=False).pvalue == pytest.approx(result["welch_p"])


def test_median_run_is_the_middle_fid():
    runs = [_run(f, i) for i, f in enumerate([3.0, 1.0, 2.0, 5.0, 4.0])]
    assert quality.median_run(runs)["seed"] == 0
    assert quality.median_run(runs[:4])["seed"] == 2  # even count: the lower middle


def _readme_first_command_flags():
    readme = (pathlib.Path(__file__).parents[2] / "README.md").read_text()
    command = next(line for line in readme.splitlines() if "sagan-train " in line)
    train = command.split("sagan-train ", 1)[1].split("&&")[0].split()
    return {flag.split("=")[0]: flag for flag in train}


def test_arms_differ_only_in_attention_and_train_the_first_command():
    args = quality.parse_args([])
    commands = [quality.train_command(arm, 3, args, "/tmp/run") for arm in quality.ARMS]
    different = [set(c) ^ set(commands[0]) for c in commands[1:]]
    assert all(d and all(flag.startswith("--attention=") for flag in d) for d in different)
    first = _readme_first_command_flags()
    for name in ("--dataset", "--preset", "--batch_size", "--steps"):
        assert first[name] in commands[0], name  # the README's settings, not the study's own
    assert not any(flag.startswith(("--g_lr", "--d_lr", "--ema", "--g_channels"))
                   for flag in commands[0])  # the preset's, as the first command


def test_overrides_reach_sagan_train_only_when_given():
    args = quality.parse_args(["--g_lr=4e-4", "--width=16"])
    command = quality.train_command(quality.ARMS[0], 0, args, "/tmp/run")
    assert "--g_lr=0.0004" in command and "--g_channels=16,16,16" in command
    assert "--d_channels=16,16,16,16" in command and not any(
        flag.startswith("--d_lr") for flag in command)

"""The book's rule for "A beats B" on paired runs: mean and typical problem, each with an interval."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from optbook import claims
from optbook.comparison import compare_paired, sign_test_interval


def test_both_statistics_favour_a_is_reproduced():
    b = np.linspace(1.0, 2.0, 40)
    result = compare_paired(b - 0.1, b, "LSTM", "Adam")
    assert result.verdict == "reproduced"
    assert result.mean_difference == pytest.approx(-0.1) and result.median_difference == pytest.approx(-0.1)
    assert result.fraction_better == 1.0 and result.mean_hi < 0 and result.median_hi < 0
    assert result.detail.startswith("reproduced (LSTM vs Adam: lower mean, lower typical loss)")


def test_lower_mean_but_higher_typical_loss_is_mixed():
    # 30 of 40 problems: A slightly worse (+0.01); 10 badly conditioned problems: A far better (-1).
    b = np.full(40, 1.0)
    a = b + np.r_[np.full(30, 0.01), np.full(10, -1.0)]
    result = compare_paired(a, b)
    assert result.mean_difference == pytest.approx((30 * 0.01 - 10) / 40)
    assert result.mean_hi < 0  # the mean says A is better ...
    assert result.median_lo > 0  # ... the typical problem says A is worse
    assert (result.mean_says, result.typical_says, result.verdict) == ("better", "worse", "mixed")
    assert result.fraction_better == 0.25
    assert "lower mean, higher typical loss" in result.detail


def test_a_typical_loss_that_is_higher_with_an_unclear_mean_is_not_reproduced():
    # The step-100 quadratic pattern: A worse on most problems, a few huge losses make the mean noisy.
    rng = np.random.default_rng(0)
    b = rng.lognormal(-5, 1, 100)
    a = b * 10
    a[:5] = 0.0
    b[:5] = rng.uniform(0, 5, 5)
    result = compare_paired(a, b)
    assert result.typical_says == "worse" and result.mean_says == "unclear"
    assert result.verdict == "not reproduced"
    assert "mean unclear, higher typical loss" in result.detail


def test_a_lower_mean_with_an_unclear_typical_problem_is_inconclusive():
    # A is far better on 8 of 60 problems and on the others as often slightly worse as slightly
    # better: the mean alone must not decide.
    spread = np.linspace(0.001, 0.01, 26)
    b = np.full(60, 1.0)
    a = b + np.r_[np.full(8, -0.9), spread, -spread]
    result = compare_paired(a, b)
    assert result.mean_says == "better" and result.typical_says == "unclear"
    assert result.verdict == "inconclusive"


def test_higher_is_better_for_accuracies():
    base = np.linspace(0.80, 0.90, 30)
    result = compare_paired(base + 0.02, base, "AdLaLa", "Adam", higher_is_better=True)
    assert result.verdict == "reproduced" and result.mean_difference == pytest.approx(0.02)
    assert result.median_lo <= result.median_difference <= result.median_hi
    assert "higher mean, higher typical accuracy" in result.detail
    worse = compare_paired(base - 0.02, base, higher_is_better=True)
    assert worse.verdict == "not reproduced" and worse.mean_hi < 0


def test_a_diverged_run_counts_against_the_method_that_diverged():
    b = np.linspace(1.0, 2.0, 20)
    a = b - 0.1
    a[0] = np.inf
    result = compare_paired(a, b)
    assert result.diverged_a == 1 and result.fraction_better == pytest.approx(19 / 20)
    assert result.mean_difference > 0  # the diverged run is a large loss for A
    assert result.median_difference == pytest.approx(-0.1)  # and one rank for the median
    nan_b = b.copy()
    nan_b[3] = np.nan
    assert compare_paired(b - 0.1, nan_b).diverged_b == 1
    accuracy = compare_paired(np.r_[np.nan, np.full(9, 0.9)], np.full(10, 0.8), higher_is_better=True)
    assert accuracy.mean_difference < 0 and accuracy.fraction_better == pytest.approx(0.9)


def test_sign_test_interval_matches_the_binomial_order_statistics():
    values = np.arange(1, 101, dtype=float)  # d_(i) = i
    lo, hi = sign_test_interval(values, 0.95)
    # For n = 100 the 95% interval is [d_(40), d_(61)]: P(B <= 39) <= 0.025 < P(B <= 40).
    assert (lo, hi) == (40.0, 61.0)
    assert stats.binom.cdf(39, 100, 0.5) <= 0.025 < stats.binom.cdf(40, 100, 0.5)
    assert np.isnan(sign_test_interval([1.0, 2.0, 3.0], 0.95)[0])  # n = 3: no 95% interval exists


def test_bad_input_names_the_parameter():
    with pytest.raises(ValueError, match="paired"):
        compare_paired([1.0, 2.0], [1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="at least 2 problems"):
        compare_paired([1.0], [2.0])
    with pytest.raises(ValueError, match="level=1.5"):
        compare_paired([1.0, 2.0], [1.0, 2.0], level=1.5)
    with pytest.raises(ValueError, match="1-d"):
        compare_paired(np.ones((2, 2)), np.ones((2, 2)))


def test_the_rule_is_what_claims_exports():
    assert claims.compare_paired is compare_paired
    assert compare_paired([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).verdict in claims.VERDICTS

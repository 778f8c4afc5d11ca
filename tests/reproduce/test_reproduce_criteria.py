"""The strict criteria, check outcomes and the tuning protocol, against hand-computed values."""

from __future__ import annotations

import math

import numpy as np
import pytest

from guardopt.core.errors import InvalidParameterError
from guardopt.reproduce.criteria import (
    clopper_pearson_lower,
    clopper_pearson_upper,
    inconclusive,
    paired_gain,
    rate_above,
    rate_at_most,
    vacuous,
)
from guardopt.reproduce.spec import Evidence, Outcome, Status, Verdict
from guardopt.reproduce.tuning import TUNING_SEED_OFFSET, tune, tuning_seeds


def test_clopper_pearson_closed_forms():
    # k = 0: the upper bound solves (1 - p)^n = alpha; k = n: the lower bound solves p^n = alpha.
    assert clopper_pearson_upper(0, 10) == pytest.approx(1 - 0.05 ** (1 / 10), rel=1e-9)
    assert clopper_pearson_lower(10, 10) == pytest.approx(0.05 ** (1 / 10), rel=1e-9)
    assert clopper_pearson_upper(0, 0) == 1.0 and clopper_pearson_lower(0, 0) == 0.0
    # k = 1, n = 2: P(X <= 1 | p) = 1 - p^2 = 0.05 gives p = sqrt(0.95).
    assert clopper_pearson_upper(1, 2) == pytest.approx(math.sqrt(0.95), rel=1e-9)
    # k = 1, n = 2: P(X >= 1 | p) = 1 - (1 - p)^2 = 0.05 gives p = 1 - sqrt(0.95).
    assert clopper_pearson_lower(1, 2) == pytest.approx(1 - math.sqrt(0.95), rel=1e-9)


def test_rate_at_most_uses_the_upper_bound():
    # 21 events in 200 trials: the point rate 0.105 is near 0.1 but the upper bound is well above it.
    ev = rate_at_most("unsafe rate <= 0.1", 21, 200, 0.1)
    assert not ev.passed and ev.outcome is Outcome.FAIL
    assert ev.value == pytest.approx(clopper_pearson_upper(21, 200)) and ev.value > 0.14
    assert rate_at_most("few", 5, 200, 0.1).passed  # upper bound ~0.052
    assert rate_at_most("tolerance", 21, 200, 0.1, tolerance=0.06).passed
    empty = rate_at_most("nothing released", 0, 0, 0.1)
    assert empty.outcome is Outcome.VACUOUS and not empty.counts_as_pass


def test_rate_above_uses_the_lower_bound():
    assert rate_above("naive unsafe > 0.1", 40, 200, 0.1).passed  # lower bound ~0.155
    assert not rate_above("close", 25, 200, 0.1).passed  # 0.125 but lower bound ~0.088
    assert rate_above("none", 0, 0, 0.1).outcome is Outcome.INCONCLUSIVE


@pytest.mark.parametrize(("k", "n"), [(-1, 10), (11, 10), (1.5, 10), (True, 10), (0, -1)])
def test_rate_counts_are_validated(k, n):
    with pytest.raises(InvalidParameterError):
        rate_at_most("x", k, n, 0.1)


def test_paired_gain_reference_values():
    # gains 0.2, 0.15, 0.25: mean 0.2, sd 0.05, se 0.05/sqrt(3); one-sided t(0.95, 2) = 2.919986.
    ev = paired_gain("lower regret", [0.1, 0.2, 0.15], [0.3, 0.35, 0.4], higher_is_better=False)
    assert ev.value == pytest.approx(0.2 - 2.919986 * 0.05 / math.sqrt(3), rel=1e-5)
    assert ev.passed and "mean gain 0.2" in ev.detail and "3 pairs" in ev.detail
    # The same numbers the other way round fail: the baseline is better.
    assert not paired_gain("higher score", [0.1, 0.2, 0.15], [0.3, 0.35, 0.4]).passed
    # A margin the interval does not clear fails even though the mean gain is positive.
    assert not paired_gain("by 0.15", [0.1, 0.2, 0.15], [0.3, 0.35, 0.4], margin=0.15,
                           higher_is_better=False).passed


def test_paired_gain_drops_nan_pairs_and_needs_two():
    ev = paired_gain("x", [1.0, np.nan, 2.0], [0.0, 0.0, np.nan])
    assert ev.outcome is Outcome.INCONCLUSIVE and "1 pair" in ev.detail
    with pytest.raises(InvalidParameterError, match="baseline"):
        paired_gain("x", [1.0, 2.0], [1.0])


def test_verdict_fails_closed_on_vacuous_and_inconclusive_checks():
    ok = Evidence("ok", 1.0, 0.0, True)
    bad = Evidence("bad", -1.0, 0.0, False)
    assert Verdict.from_evidence([ok]).status is Status.HOLDS
    assert Verdict.from_evidence([ok, vacuous("never certified", "0 releases")]).status is Status.INCONCLUSIVE
    assert Verdict.from_evidence([ok, inconclusive("too small", "needs 1e6 samples")]).status is Status.INCONCLUSIVE
    # A failed check decides even beside a check without data.
    nan = Evidence("no data", math.nan, 0.0, False)
    assert Verdict.from_evidence([bad, nan]).status is Status.FAILS
    assert Verdict.from_evidence([ok, nan]).status is Status.INCONCLUSIVE
    summary = Verdict.from_evidence([ok, vacuous("v", "why")]).summary
    assert summary == "1 of 2 checks passed (1 VACUOUS)"
    with pytest.raises(InvalidParameterError, match="outcome"):
        Evidence("inconsistent", 1.0, 0.0, False, Outcome.PASS)


def test_tune_picks_the_best_mean_on_disjoint_seeds():
    seen: list[int] = []

    def score(setting, seed):
        seen.append(seed)
        return -abs(setting["lr"] - 0.1) + (setting["steps"] == 20) * 0.01

    res = tune(score, {"lr": [0.01, 0.1, 1.0], "steps": [10, 20]}, tuning_seeds(3))
    assert res.chosen == {"lr": 0.1, "steps": 20}
    assert min(seen) >= TUNING_SEED_OFFSET and len(res.scores) == 6
    table = res.markdown("Learning rate")
    assert "| 0.1 | 20 |" in table and "**yes**" in table and "disjoint" in table


def test_tune_ranks_diverged_settings_last_and_breaks_ties_in_grid_order():
    res = tune(lambda s, seed: math.nan if s["x"] == 2 else 1.0, {"x": [2, 1, 3]}, tuning_seeds(2))
    assert res.chosen == {"x": 1}
    low = tune(lambda s, seed: float(s["x"]), {"x": [3, 1, 2]}, tuning_seeds(1), maximize=False)
    assert low.chosen == {"x": 1}


def test_tune_refuses_evaluation_seeds_and_empty_grids():
    with pytest.raises(InvalidParameterError, match="seeds"):
        tune(lambda s, seed: 0.0, {"x": [1]}, [0, 1])
    with pytest.raises(InvalidParameterError, match="grid"):
        tune(lambda s, seed: 0.0, {"x": []}, tuning_seeds(1))
    with pytest.raises(InvalidParameterError, match="'n'"):
        tuning_seeds(0)


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None, "abc", np.True_])
def test_bad_counts_raise_the_library_error_not_a_crash(bad):
    # int(nan) / int(inf) / int(None) used to raise ValueError, OverflowError, TypeError.
    for k, n in ((0, bad), (bad, 10)):
        with pytest.raises(InvalidParameterError):
            rate_at_most("x", k, n, 0.1)
        with pytest.raises(InvalidParameterError):
            clopper_pearson_upper(k, n)


def test_non_finite_limits_and_margins_are_refused_not_passed():
    # An infinite limit, tolerance or margin used to make any rate or gain pass.
    for kwargs in ({"limit": math.inf}, {"limit": 0.05, "tolerance": math.inf}, {"limit": math.nan}):
        with pytest.raises(InvalidParameterError):
            rate_at_most("x", 9, 10, **kwargs)
    with pytest.raises(InvalidParameterError, match="limit"):
        rate_above("x", 0, 10, -math.inf)
    with pytest.raises(InvalidParameterError, match="margin"):
        paired_gain("x", [0.0, 0.1, 0.2], [0.5, 0.5, 0.5], margin=-math.inf)


def test_paired_gain_matches_scipy_t_interval():
    from scipy import stats

    ours, base = np.array([0.1, 0.2, 0.15, 0.4]), np.array([0.3, 0.35, 0.4, 0.38])
    ev = paired_gain("x", ours, base, higher_is_better=False)
    gain = base - ours
    one = stats.ttest_1samp(gain, 0.0, alternative="greater").confidence_interval(0.95)
    two = stats.ttest_1samp(gain, 0.0).confidence_interval(0.95)
    assert ev.value == pytest.approx(one.low, rel=1e-12)
    assert f"CI [{two.low:.4g}, {two.high:.4g}]" in ev.detail


def test_paired_gain_does_not_drop_a_diverged_pair():
    # ours diverged (loss = inf) on one seed: that pair used to be dropped and the rest passed.
    ev = paired_gain("lower loss", [math.inf, 0.1, 0.1], [0.3, 0.3, 0.3], higher_is_better=False)
    assert ev.outcome is Outcome.FAIL and ev.value == -math.inf
    assert Verdict.from_evidence([ev]).status is Status.FAILS
    # Only the baseline diverged, or both did: no interval, never a pass.
    for ours, base in (([0.1, 0.1, 0.2], [math.inf, 0.3, 0.3]), ([math.inf, 0.1, 0.2], [math.inf, 0.3, 0.3])):
        ev = paired_gain("lower loss", ours, base, higher_is_better=False)
        assert ev.outcome is Outcome.INCONCLUSIVE and not ev.counts_as_pass


def test_a_pass_without_a_value_is_not_a_pass():
    ev = Evidence("no data", math.nan, 0.0, True)
    assert ev.outcome is Outcome.INCONCLUSIVE and not ev.counts_as_pass
    assert Verdict.from_evidence([ev]).summary == "0 of 1 checks passed (1 INCONCLUSIVE)"

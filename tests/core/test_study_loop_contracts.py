"""Fail-closed contracts of the study loop's new public pieces (pruners, the running trial, warm starts).

Any value -> a valid result or a `GuardoptError` naming the parameter; never a crash deep inside,
never a COMPLETE trial (a candidate for `best`) built from a non-finite value.
"""

from __future__ import annotations

import math
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

import guardopt as go
from guardopt.core import Trial, TrialState
from guardopt.core.callbacks import StopAtValue, StopOnPlateau, TimeBudget
from guardopt.core.pruners import HyperbandPruner, MedianPruner, SuccessiveHalvingPruner
from guardopt.core.trial import is_finite_number
from guardopt.testing.contracts import adversarial_floats, adversarial_scalars, assert_contract, contract_settings

values = st.dictionaries(st.integers(0, 30), adversarial_floats(), max_size=6)


@contract_settings()
@given(values, st.lists(values, max_size=5), st.sampled_from(["minimize", "maximize"]))
def test_pruners_answer_a_bool_on_any_intermediate_values(mine: dict[int, float], others: list[dict[int, float]],
                                                          direction: str) -> None:
    trial = Trial(99, {}, TrialState.RUNNING, intermediate_values=mine)
    done = [Trial(i, {}, TrialState.COMPLETE, 0.0, intermediate_values=v) for i, v in enumerate(others)]
    for pruner in (MedianPruner(n_startup_trials=0), SuccessiveHalvingPruner(), HyperbandPruner(max_resource=27)):
        out = assert_contract(pruner.prune, trial, done, direction)
        assert out.ok and isinstance(out.result, bool)


@contract_settings()
@given(adversarial_scalars(), adversarial_scalars())
def test_report_and_pruner_configs(value: Any, step: Any) -> None:
    s = go.Study(optimizer=go.RandomSearch(seed=0), pruner=MedianPruner(n_startup_trials=0))
    r = s._running(s.ask())
    out = assert_contract(r.report, value, step, names=("value", "step"))
    if out.ok:
        assert all(not math.isnan(v) for v in r.intermediate_values.values())
        assert isinstance(r.should_prune(), bool)
    for make, names in ((MedianPruner, ("n_startup_trials",)), (SuccessiveHalvingPruner, ("min_resource",)),
                        (StopOnPlateau, ("patience",)), (StopAtValue, ("target",)), (TimeBudget, ("seconds",))):
        assert_contract(make, value, names=names)


@contract_settings()
@given(adversarial_scalars(), adversarial_scalars())
def test_suggest_float_and_int_on_any_bounds(low: Any, high: Any) -> None:
    s = go.Study(optimizer=go.RandomSearch(seed=0))
    r = s._running(s.ask())
    out = assert_contract(r.suggest_float, "a", low, high, names=("low", "high"))
    if out.ok:
        assert float(low) <= out.result <= float(high)
    out = assert_contract(r.suggest_int, "b", low, high, names=("low", "high"))
    if out.ok:
        assert low <= out.result <= high


@contract_settings()
@given(adversarial_scalars())
def test_add_trial_never_completes_a_trial_on_a_non_finite_value(v: Any) -> None:
    s = go.Study(go.Space({"x": go.Real(0, 1)}), constraints={"c": ("<=", 0.0)})
    out = assert_contract(s.add_trial, {"x": 0.5}, {"value": v, "c": -1.0}, names=("result",))
    if out.ok:
        trial = out.result
        assert (trial.state is TrialState.COMPLETE) == is_finite_number(v)
    out = assert_contract(s.add_trial, {"x": v}, 1.0, names=("params",))
    assert out.ok or "'x'" in str(out.error)

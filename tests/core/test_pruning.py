"""Intermediate values (stored, migrated), the PRUNED state, and the median / ASHA / Hyperband pruners."""

from __future__ import annotations

import math
import sqlite3
from pathlib import Path
from typing import Any

import pytest

import guardopt as go
from guardopt.core import InvalidParameterError, SQLiteStorage, Trial, TrialState
from guardopt.core.define_by_run import TrialPruned
from guardopt.core.pruners import HyperbandPruner, MedianPruner, NopPruner, SuccessiveHalvingPruner
from guardopt.core.storage import SCHEMA_VERSION


def curve(trial: Any) -> float:
    """A learning curve: loss ``lr-dependent floor + decay``; 9 steps."""
    lr = trial.suggest_float("lr", 0.01, 1.0, log=True)
    loss = 1.0
    for step in range(1, 10):
        loss = abs(math.log10(lr) + 1) + 1.0 / step
        trial.report(loss, step)
        if trial.should_prune():
            raise TrialPruned()
    return loss


def T(number: int, values: dict[int, float], state: TrialState = TrialState.COMPLETE) -> Trial:
    return Trial(number, {}, state, value=values[max(values)] if state is TrialState.COMPLETE else None,
                 intermediate_values=values)


# -- storage ---------------------------------------------------------------------------------------


def test_reported_values_are_stored_with_the_trial_in_memory_and_sqlite(tmp_path: Path) -> None:
    for storage in (None, f"sqlite:///{tmp_path / 'r.db'}"):
        s = go.Study(name="r", storage=storage, optimizer=go.RandomSearch(seed=0))
        s.optimize(curve, n_trials=3)
        for t in s.trials:
            assert sorted(t.intermediate_values) == list(range(1, 10)) and t.last_step == 9
            assert t.intermediate_values[9] == pytest.approx(t.value)
    again = go.Study.load("r", f"sqlite:///{tmp_path / 'r.db'}")
    assert [t.intermediate_values for t in again.trials] == [t.intermediate_values for t in s.trials]


def test_a_schema_1_database_is_upgraded_in_place_and_stays_readable(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the schema-1 layout, as the previous release wrote it
        conn.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
        conn.execute("CREATE TABLE studies (name TEXT PRIMARY KEY, spec TEXT NOT NULL)")
        conn.execute("CREATE TABLE trials (study TEXT NOT NULL, number INTEGER NOT NULL, state TEXT NOT NULL, "
                     "data TEXT NOT NULL, PRIMARY KEY (study, number))")
        conn.execute("INSERT INTO meta VALUES ('schema_version', '1')")
        conn.execute("INSERT INTO studies VALUES ('old', ?)", (
            '{"space": {"x": {"type": "real", "low": 0, "high": 1, "log": false}}, "direction": "minimize", '
            '"constraints": {}}',))
        conn.execute("INSERT INTO trials VALUES ('old', 0, 'COMPLETE', ?)", (
            '{"number": 0, "params": {"x": 0.5}, "state": "COMPLETE", "value": 0.25, "constraints": {}, '
            '"failure_reason": null, "datetime_start": null, "datetime_complete": null, "user_attrs": {}, '
            '"context": null}',))
    s = go.Study.load("old", f"sqlite:///{path}")
    (t,) = s.trials
    assert t.params == {"x": 0.5} and t.value == 0.25 and t.intermediate_values == {}
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key='schema_version'").fetchone() == (str(SCHEMA_VERSION),)
    s.optimize(curve, n_trials=0)
    s.storage.report("old", s.ask().number, 1, 0.5)
    assert s.trials[1].intermediate_values == {1: 0.5}
    SQLiteStorage(path)  # opening again is a no-op


def test_report_checks_and_edge_values() -> None:
    s = go.Study(optimizer=go.RandomSearch(seed=0))
    r = s._running(s.ask())
    r.report(0.5, 1)
    r.report(0.1, 1)  # a step reported twice keeps its first value
    r.report(math.nan, 2)  # a diverging run: stored as the worst value, so it is pruned first
    assert r.intermediate_values == {1: 0.5, 2: math.inf}
    with pytest.raises(InvalidParameterError, match="'step' parameter of report"):
        r.report(1.0, -1)
    with pytest.raises(InvalidParameterError, match="'value' parameter of report"):
        r.report("high", 3)  # type: ignore[arg-type]
    assert not r.should_prune()  # no pruner: never


# -- pruners: hand-computed decisions --------------------------------------------------------------


def test_median_pruner_reference_decisions() -> None:
    done = [T(0, {1: 1.0, 2: 0.8}), T(1, {1: 2.0, 2: 1.6}), T(2, {1: 3.0, 2: 2.4})]
    p = MedianPruner(n_startup_trials=3, n_warmup_steps=0)
    # Median at step 2 is 1.6; best-so-far 1.7 > 1.6 prunes, 1.5 does not.
    assert p.prune(T(9, {1: 1.9, 2: 1.7}, TrialState.RUNNING), done, "minimize")
    assert not p.prune(T(9, {1: 1.9, 2: 1.5}, TrialState.RUNNING), done, "minimize")
    # Best so far, not the last value: 1.5 at step 1 keeps it although 1.7 at step 2 is worse.
    assert not p.prune(T(9, {1: 1.5, 2: 1.7}, TrialState.RUNNING), done, "minimize")
    # Maximizing: median 1.6; 1.5 < 1.6 prunes.
    assert p.prune(T(9, {1: 1.0, 2: 1.5}, TrialState.RUNNING), done, "maximize")
    assert not MedianPruner(n_startup_trials=4).prune(T(9, {2: 9.0}, TrialState.RUNNING), done, "minimize")
    assert not MedianPruner(n_startup_trials=0, n_warmup_steps=3).prune(T(9, {2: 9.0}, TrialState.RUNNING),
                                                                         done, "minimize")
    assert not MedianPruner(n_startup_trials=0, interval_steps=2).prune(T(9, {1: 9.0}, TrialState.RUNNING),
                                                                        done, "minimize")
    assert not NopPruner().prune(T(9, {2: 9.0}, TrialState.RUNNING), done, "minimize")


def test_successive_halving_rungs_and_decisions() -> None:
    sh = SuccessiveHalvingPruner(min_resource=1, reduction_factor=3)
    assert sh.rung_steps(27) == [1, 3, 9, 27]
    assert SuccessiveHalvingPruner(max_resource=27).rung_steps(27) == [1, 3, 9]  # a full trial is not judged
    assert SuccessiveHalvingPruner(min_resource=2, reduction_factor=2, min_early_stopping_rate=1).rung_steps(20) \
        == [4, 8, 16]
    # Rung at step 1: five values recorded (running and pruned trials count, failed ones do not).
    others = [T(0, {1: 0.1, 3: 0.1}), T(1, {1: 0.5}, TrialState.PRUNED), T(2, {1: 0.3}, TrialState.RUNNING),
              T(3, {1: 0.05}, TrialState.FAILED), T(4, {1: 0.9})]
    # With the new trial: 5 competitors -> top max(1, 5 // 3) = 1 goes on: only a value <= 0.1.
    assert sh.prune(T(9, {1: 0.2}, TrialState.RUNNING), others, "minimize")
    assert not sh.prune(T(9, {1: 0.1}, TrialState.RUNNING), others, "minimize")
    assert not sh.prune(T(9, {1: 0.95}, TrialState.RUNNING), others, "maximize")
    # Judged once per rung: at step 2 (no new rung) it goes on whatever its value.
    assert not sh.prune(T(9, {1: 0.1, 2: 5.0}, TrialState.RUNNING), others, "minimize")
    # The first trial at a rung is alone: promoted.
    assert not sh.prune(T(9, {1: 7.0}, TrialState.RUNNING), [], "minimize")
    # A rung passed between two calls is judged at the first step beyond it (value at step 4 for rung 3).
    assert sh.prune(T(9, {1: 0.1, 4: 0.9}, TrialState.RUNNING), [T(0, {1: 0.1, 3: 0.1}), T(4, {1: 0.1, 3: 0.2})],
                    "minimize")


def test_hyperband_brackets_follow_the_paper() -> None:
    hb = HyperbandPruner(min_resource=1, max_resource=27, reduction_factor=3, seed=0)
    assert hb.n_brackets == 4
    # Bracket sizes ceil(B * eta**(B-1-s) / (B-s)) for B=4, eta=3: 27, 12, 6, 4 (Li et al., 2018, Alg. 1).
    assert [round(w * 49, 6) for w in hb._weights] == [27, 12, 6, 4]
    assert [b.min_early_stopping_rate for b in hb._brackets] == [0, 1, 2, 3]
    brackets = [hb.bracket_of(n) for n in range(400)]
    assert brackets == [hb.bracket_of(n) for n in range(400)]  # deterministic
    assert brackets.count(0) > brackets.count(1) > brackets.count(2) > brackets.count(3)
    # A trial competes only within its bracket.
    n0 = next(n for n in range(400) if hb.bracket_of(n) == 0)
    others0 = [T(m, {1: 0.0}) for m in range(400) if hb.bracket_of(m) != 0][:10]
    assert not hb.prune(T(n0, {1: 5.0}, TrialState.RUNNING), others0, "minimize")
    with pytest.raises(InvalidParameterError, match="'max_resource' parameter of HyperbandPruner"):
        HyperbandPruner(min_resource=5, max_resource=2)


@pytest.mark.parametrize(("make", "match"), [
    (lambda: MedianPruner(n_startup_trials=-1), "'n_startup_trials' parameter of MedianPruner"),
    (lambda: MedianPruner(interval_steps=0), "'interval_steps' parameter of MedianPruner"),
    (lambda: SuccessiveHalvingPruner(reduction_factor=1), "'reduction_factor' parameter of SuccessiveHalvingPruner"),
    (lambda: SuccessiveHalvingPruner(min_resource=0), "'min_resource' parameter"),
    (lambda: go.Study(pruner=object()), "'pruner' parameter of Study"),  # type: ignore[arg-type]
])
def test_pruner_arguments(make: Any, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        make()


# -- in the loop -----------------------------------------------------------------------------------


@pytest.mark.parametrize("pruner", [MedianPruner(n_startup_trials=3), SuccessiveHalvingPruner(max_resource=9),
                                    HyperbandPruner(max_resource=9)])
def test_pruned_trials_keep_their_values_and_never_are_best(pruner: Any) -> None:
    s = go.Study(optimizer=go.RandomSearch(seed=4), pruner=pruner)
    s.optimize(curve, n_trials=20)
    states = [t.state for t in s.trials]
    assert TrialState.PRUNED in states and TrialState.COMPLETE in states
    for t in s.trials:
        if t.state is TrialState.PRUNED:
            assert t.value is None and t.last_step is not None and t.last_step < 9
    assert s.best_trial.state is TrialState.COMPLETE
    # The best configuration of an unpruned run with the same proposals survives pruning here.
    full = go.Study(optimizer=go.RandomSearch(seed=4))
    full.optimize(curve, n_trials=20)
    assert s.best_value == pytest.approx(full.best_value)


def test_pruning_is_not_a_failure_and_optuna_trial_pruned_is_recognised() -> None:
    optuna = pytest.importorskip("optuna")

    def fn(trial: Any) -> float:
        trial.suggest_float("x", 0, 1)
        raise optuna.TrialPruned()

    s = go.Study(optimizer=go.RandomSearch(seed=0))
    s.optimize(fn, n_trials=8, catch=())  # neither caught as an error nor counted as a failure
    assert [t.state for t in s.trials] == [TrialState.PRUNED] * 8
    s.tell(s.ask(), TrialPruned())
    assert s.trials[-1].state is TrialState.PRUNED


def test_asha_is_asynchronous_with_parallel_workers(tmp_path: Path) -> None:
    # Worker processes share the SQLite storage, so each trial's rung competes with running ones.
    url = f"sqlite:///{tmp_path / 'a.db'}"
    s = go.Study(storage=url, optimizer=go.RandomSearch(seed=1), pruner=SuccessiveHalvingPruner())
    s.optimize(curve, n_trials=12, n_jobs=2)
    assert [t.number for t in s.trials] == list(range(12))
    assert {TrialState.PRUNED, TrialState.COMPLETE} <= {t.state for t in s.trials}
    assert all(t.intermediate_values for t in s.trials)

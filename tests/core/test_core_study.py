"""Study: ask/tell, bad input, best(), the optimize loop, reproducibility and resuming."""

from __future__ import annotations

import math
import multiprocessing as mp
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import guardopt as go
from guardopt.core import GuardoptError, InputDataError, InvalidParameterError, Observation, TrialState

SPACE = go.Space({"x": go.Real(-5, 5), "y": go.Real(-5, 5), "kind": go.Choice(["a", "b"])})


def bowl(p: Mapping[str, Any]) -> dict[str, float]:
    return {"value": (p["x"] - 1) ** 2 + p["y"] ** 2, "c": p["x"] + p["y"] - 2}


def make_study(**kw: Any) -> go.Study:
    kw.setdefault("optimizer", go.RandomSearch(seed=0))
    return go.Study(SPACE, **kw)


# -- ask / tell and bad input ----------------------------------------------------------------------


def test_ask_tell_float_observation_mapping() -> None:
    study = make_study(constraints={"c": ("<=", 0.0)})
    t0, t1, t2 = study.ask(), study.ask(), study.ask()
    assert [t.number for t in (t0, t1, t2)] == [0, 1, 2]
    assert t0.state is TrialState.RUNNING and t0.datetime_start is not None
    a = study.tell(t0, 1.5)
    b = study.tell(t1, Observation(2.0, {"c": -1.0}, {"note": "ok"}))
    c = study.tell(t2.number, {"value": 3, "c": 1.0})
    assert a.state is b.state is c.state is TrialState.COMPLETE
    assert a.value == 1.5 and a.constraints == {} and b.user_attrs == {"note": "ok"} and c.value == 3.0
    assert a.duration is not None and a.duration >= 0
    # t0 has no constraint value: violated (fail closed); t2 violates it; t1 is the only feasible one.
    assert study.best() == b


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf, None, "1.0", [1.0]])
def test_non_finite_objective_fails_the_trial_and_study_goes_on(bad: Any) -> None:
    study = make_study()
    t = study.tell(study.ask(), bad)
    assert t.state is TrialState.FAILED and t.value is None
    assert "objective value is not a finite number" in (t.failure_reason or "")
    good = study.tell(study.ask(), 1.0)
    assert good.state is TrialState.COMPLETE and study.best() == good


def test_non_finite_constraint_fails_the_trial() -> None:
    study = make_study(constraints={"c": ("<=", 0.0), "d": (">=", 1.0)})
    t = study.tell(study.ask(), {"value": 1.0, "c": math.nan, "d": 2.0})
    assert t.state is TrialState.FAILED
    assert "constraint values are not finite" in (t.failure_reason or "") and "'c'" in (t.failure_reason or "")
    assert t.constraints == {"d": 2.0}
    assert study.best() is None


def test_missing_constraint_counts_as_violated() -> None:
    study = make_study(constraints={"c": ("<=", 0.0), "d": (">=", 1.0)})
    study.tell(study.ask(), {"value": 0.0, "c": -1.0})  # 'd' missing
    assert study.best() is None
    ok = study.tell(study.ask(), {"value": 5.0, "c": -1.0, "d": 1.0})
    assert study.best() == ok  # thresholds are inclusive
    assert study.problem.residuals(ok).tolist() == [-1.0, 0.0]


def test_unknown_constraint_raises_naming_argument_and_fails_the_trial() -> None:
    study = make_study(constraints={"c": ("<=", 0.0)})
    t = study.ask()
    with pytest.raises(InputDataError, match=r"'result' argument of Study.tell .* Got undeclared \['latency'\]"):
        study.tell(t, {"value": 1.0, "latency": 3.0})
    stored = study.trials[0]
    assert stored.state is TrialState.FAILED and "latency" in (stored.failure_reason or "")
    with pytest.raises(InputDataError, match="'value' entry"):
        study.tell(study.ask(), {"c": 1.0})


def test_exception_result_is_recorded() -> None:
    study = make_study()
    t = study.tell(study.ask(), ZeroDivisionError("boom"))
    assert t.state is TrialState.FAILED and t.failure_reason == "ZeroDivisionError: boom"


def test_tell_twice_or_unknown_trial_raises() -> None:
    study = make_study()
    t = study.ask()
    study.tell(t, 1.0)
    with pytest.raises(InvalidParameterError, match=r"'trial' parameter of Study.tell must be a RUNNING trial"):
        study.tell(t, 2.0)
    with pytest.raises(InvalidParameterError, match=r"'trial' parameter .* Got 99 instead"):
        study.tell(99, 1.0)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"direction": "minimise"}, r"'direction' parameter of Study must be 'minimize' or 'maximize'. Got 'minimise'"),
        ({"constraints": {"c": ("<", 0.0)}}, r"constraints\['c'\].* parameter of Study must be a pair"),
        ({"constraints": {"c": ("<=", math.nan)}}, r"must be a pair \('<=' or '>=', finite threshold\)"),
        ({"constraints": {"value": ("<=", 0.0)}}, r"names other than 'value'"),
        ({"name": ""}, r"'name' parameter of Study must be a non-empty string"),
        ({"storage": "postgres://x"}, r"'storage' parameter of Study must be None, a Storage, or a URL"),
        ({"optimizer": object()}, r"'optimizer' parameter of Study must be an object with setup/ask/tell"),
    ],
)
def test_study_argument_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        go.Study(SPACE, **kwargs)
    with pytest.raises(InvalidParameterError, match="'space' parameter of Study must be a guardopt Space"):
        go.Study({"x": go.Real(0, 1)})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"n_trials": -1}, r"'n_trials' parameter of Study.optimize must be a non-negative integer. Got -1"),
        ({}, r"'n_trials' parameter of Study.optimize must be given, or else 'until'"),
        ({"n_trials": 1, "until": 3}, r"left out when .until. is given"),
        ({"n_trials": 1, "n_jobs": 0}, r"'n_jobs' parameter of Study.optimize must be a positive integer. Got 0"),
        ({"n_trials": 1, "timeout": -1}, r"'timeout' parameter"),
        ({"n_trials": 1, "executor": "mpi"}, r"'executor' parameter of make_executor must be one of"),
    ],
)
def test_optimize_argument_errors(kwargs: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        make_study().optimize(bowl, **kwargs)


class _BadOptimizer(go.RandomSearch):
    def ask(self, n: int = 1, context: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
        return [{"x": 9.0, "y": 0.0, "kind": "a"}] * n


def test_params_outside_the_space_raise() -> None:
    study = go.Study(SPACE, optimizer=_BadOptimizer())
    with pytest.raises(InputDataError, match=r"'x' must lie in Real\(low=-5, high=5, log=False\). Got 9.0"):
        study.ask()
    assert study.trials == []


def test_error_family() -> None:
    for cls in (InputDataError, InvalidParameterError, go.InsufficientDataError, go.UnsupportedError):
        assert issubclass(cls, GuardoptError)


# -- best ------------------------------------------------------------------------------------------


def test_best_respects_direction_and_constraints() -> None:
    space = go.Space({"x": go.Real(0, 1)})
    for direction, expected in (("minimize", 1.0), ("maximize", 3.0)):
        study = go.Study(space, direction=direction, constraints={"c": (">=", 0.0)})  # type: ignore[arg-type]
        for v, c in ((2.0, 0.0), (1.0, 1.0), (3.0, 5.0), (0.0, -1.0), (9.0 if direction == "minimize" else -9.0, None)):
            t = study.ask()
            study.tell(t, {"value": v} if c is None else {"value": v, "c": c})
        best = study.best()
        assert best is not None and best.value == expected
        assert study.best(guard="pessimistic") == best  # RandomSearch has no model: measurements are exact
    with pytest.raises(InvalidParameterError, match=r"'guard' parameter of Study\.best"):
        study.best(guard="robust")  # type: ignore[arg-type]


def test_best_is_none_when_nothing_is_feasible_or_complete() -> None:
    study = make_study(constraints={"c": ("<=", -100.0)})
    assert study.best() is None
    study.optimize(bowl, n_trials=5)
    assert study.best() is None and study.best(guard="pessimistic") is None


class _Recommender(go.RandomSearch):
    def recommend(self, guard: str) -> dict[str, Any] | None:
        return None if guard == "pessimistic" else {"x": 0.5}


def test_best_asks_a_model_based_optimizer_for_its_guarded_recommendation() -> None:
    study = go.Study(go.Space({"x": go.Real(0, 1)}), optimizer=_Recommender(seed=0))
    t = study.ask()
    study.tell(t, 1.0)
    assert study.best(guard="pessimistic") is None
    assert study.best(guard="optimistic") is None  # recommends a point never evaluated
    assert study.best() is not None


# -- the optimize loop -----------------------------------------------------------------------------


def test_optimize_catches_exceptions_and_reraises_the_others() -> None:
    def fn(p: Mapping[str, Any]) -> float:
        if p["x"] > 0:
            raise ValueError("positive x")
        return float(p["x"])

    study = make_study()
    study.optimize(fn, n_trials=20)
    states = [t.state for t in study.trials]
    assert len(states) == 20 and TrialState.FAILED in states and TrialState.COMPLETE in states
    failed = [t for t in study.trials if t.state is TrialState.FAILED]
    assert all(t.failure_reason == "ValueError: positive x" for t in failed)
    with pytest.raises(ValueError, match="positive x"):
        make_study().optimize(fn, n_trials=20, catch=(KeyError,))


def test_optimize_parallel_reraises_after_finishing_running_trials() -> None:
    def fn(p: Mapping[str, Any]) -> float:
        if p["x"] > 0:
            raise ValueError("positive x")
        return float(p["x"])

    study = make_study()
    with pytest.raises(ValueError, match="positive x"):
        study.optimize(fn, n_trials=20, n_jobs=3, executor="thread", catch=())
    assert all(t.state is not TrialState.RUNNING for t in study.trials)


def test_keyboard_interrupt_marks_the_trial_interrupted() -> None:
    def fn(p: Mapping[str, Any]) -> float:
        raise KeyboardInterrupt

    study = make_study()
    with pytest.raises(KeyboardInterrupt):
        study.optimize(fn, n_trials=3)
    (t,) = study.trials
    assert t.state is TrialState.FAILED and t.interrupted


def test_until_continues_to_a_total_and_timeout_stops_asking() -> None:
    study = make_study()
    study.optimize(bowl_value, until=7)
    study.optimize(bowl_value, until=10)
    study.optimize(bowl_value, until=4)
    assert [t.number for t in study.trials] == list(range(10))

    def slow(p: Mapping[str, Any]) -> float:
        time.sleep(0.05)
        return 0.0

    study = make_study()
    study.optimize(slow, n_trials=1000, timeout=0.2)
    assert 1 <= len(study.trials) <= 8


def bowl_value(p: Mapping[str, Any]) -> float:
    return float(bowl(p)["value"])


def test_parallel_threads_and_processes_give_every_trial_once(tmp_path: Path) -> None:
    for executor, storage in (("thread", None), (None, f"sqlite:///{tmp_path / 'p.db'}")):
        study = make_study(storage=storage)
        study.optimize(bowl_value, n_trials=12, n_jobs=3, executor=executor)
        trials = study.trials
        assert [t.number for t in trials] == list(range(12))
        assert all(t.state is TrialState.COMPLETE for t in trials)
        assert all(t.value == pytest.approx(bowl_value(t.params)) for t in trials)


def test_show_progress_runs() -> None:
    make_study().optimize(bowl_value, n_trials=3, show_progress=True)


def test_to_dataframe() -> None:
    study = make_study(constraints={"c": ("<=", 0.0)})
    study.optimize(bowl, n_trials=4)
    study.tell(study.ask(), math.nan)
    study.tell(study.ask(), Observation(1.0, {"c": 0.0}, {"note": "x"}))
    df = study.to_dataframe()
    assert len(df) == 6
    assert {"number", "state", "value", "params_x", "params_kind", "constraints_c", "feasible",
            "failure_reason", "duration", "user_attrs_note"} <= set(df.columns)
    assert df["state"].tolist()[4] == "FAILED" and not df["feasible"].tolist()[4]
    assert df["feasible"].tolist()[5] and df["user_attrs_note"].tolist()[5] == "x"


# -- reproducibility and resuming ------------------------------------------------------------------


def _params_of_run(seed: int) -> list[dict[str, Any]]:
    study = go.Study(SPACE, constraints={"c": ("<=", 0.0)}, optimizer=go.RandomSearch(seed=seed, n_sobol=4))
    study.optimize(bowl, n_trials=10)
    return [dict(t.params) for t in study.trials]


def test_same_seed_same_trials_also_in_another_process() -> None:
    here = _params_of_run(5)
    assert here == _params_of_run(5)
    assert here != _params_of_run(6)
    with mp.get_context("spawn").Pool(1) as pool:
        there = pool.apply(_params_of_run, (5,))
    assert there == here


def test_parallel_run_asks_the_same_points_as_a_serial_one() -> None:
    serial = make_study()
    serial.optimize(bowl_value, n_trials=9)
    parallel = make_study()
    parallel.optimize(bowl_value, n_trials=9, n_jobs=3, executor="thread")
    # RandomSearch's point i depends only on (seed, i), and numbers are given in ask order.
    assert [t.params for t in parallel.trials] == [t.params for t in serial.trials]


def test_resume_continues_the_sequence_instead_of_repeating_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    whole = make_study()
    whole.optimize(bowl_value, n_trials=10)
    first = make_study(name="r", storage=url)
    first.optimize(bowl_value, n_trials=4)
    resumed = go.Study.load("r", storage=url, optimizer=go.RandomSearch(seed=0))
    assert resumed.constraints == {} and resumed.direction == "minimize"
    resumed.optimize(bowl_value, until=10)
    assert [dict(t.params) for t in resumed.trials] == [dict(t.params) for t in whole.trials]


def test_load_errors_and_mismatched_problem(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 's.db'}"
    make_study(name="a", storage=url)
    with pytest.raises(InvalidParameterError, match=r"'name' parameter of Study.load must be one of \['a'\]. Got 'b'"):
        go.Study.load("b", storage=url)
    with pytest.raises(InvalidParameterError, match=r"'direction' parameter of Study must be the direction stored"):
        make_study(name="a", storage=url, direction="maximize")
    with pytest.raises(InvalidParameterError, match=r"'space' parameter of Study must be the space stored"):
        go.Study(go.Space({"x": go.Real(0, 1)}), name="a", storage=url)


def test_seeded_random_search_rejects_bad_seeds() -> None:
    with pytest.raises(InvalidParameterError, match="'seed' parameter of RandomSearch"):
        go.RandomSearch(seed=-1)
    with pytest.raises(InvalidParameterError, match="'n_sobol' parameter of RandomSearch"):
        go.RandomSearch(n_sobol=1.5)  # type: ignore[arg-type]
    with pytest.raises(GuardoptError, match=r"setup\(problem\) must be called before ask"):
        go.RandomSearch().ask()
    a, b = go.RandomSearch(), go.RandomSearch()  # unseeded: different streams
    for opt in (a, b):
        opt.setup(go.ProblemSpec(SPACE))
    assert a.ask(3) != b.ask(3)


def test_batch_asks_are_distinct_even_in_a_tiny_space() -> None:
    study = go.Study(go.Space({"k": go.Choice(["a", "b", "c"])}), optimizer=go.RandomSearch(seed=1))
    assert sorted(t.params["k"] for t in study.ask_batch(3)) == ["a", "b", "c"]
    assert len(study.ask_batch(5)) == 5  # more than the space holds: repeats are allowed
    assert np.isfinite(len(study.trials))


def test_one_study_driven_from_several_threads(tmp_path: Path) -> None:
    import threading

    study = make_study(storage=f"sqlite:///{tmp_path / 'th.db'}")

    def work() -> None:
        for _ in range(10):
            t = study.ask()
            study.tell(t, bowl_value(t.params))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    trials = study.trials
    assert [t.number for t in trials] == list(range(40)) and all(t.state is TrialState.COMPLETE for t in trials)
    assert len({repr(t.params) for t in trials}) == 40


def test_an_objective_that_cannot_be_pickled_leaves_no_running_trial() -> None:
    import threading

    lock = threading.Lock()

    def fn(p: Mapping[str, Any]) -> float:
        with lock:
            return 0.0

    study = make_study()
    with pytest.raises(TypeError):
        study.optimize(fn, n_trials=4, n_jobs=2)
    assert study.trials and all(t.interrupted for t in study.trials)


def test_numpy_params_become_plain_and_odd_choices_are_refused() -> None:
    class NumpyOptimizer(go.RandomSearch):
        def ask(self, n: int = 1, context: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
            return [{"x": np.float64(0.5), "n": np.int64(2)} for _ in range(n)]

    study = go.Study(go.Space({"x": go.Real(0, 1), "n": go.Integer(0, 3)}), optimizer=NumpyOptimizer())
    t = study.ask()
    assert type(t.params["x"]) is float and type(t.params["n"]) is int
    with pytest.raises(InvalidParameterError, match="Choice options that are JSON values"):
        go.Study(go.Space({"f": go.Choice([print, len])}))

"""GP optimizers on repeated configurations, reused across studies, and at the float64 limit.

* A configuration evaluated more than once: the guarded `Study.best` / `Study.pareto_front` report
  the evaluation the optimizer chose, never another trial that merely shares its parameters.
* One optimizer object given to a second study models that study's data only.
* Values near 1.7e308 give finite predictions, reference points and ParEGO scalarizations.
* Misused arguments raise the library's errors, naming the parameter.
"""

from __future__ import annotations

import logging
import math

import numpy as np
import pytest

import guardopt as go
from guardopt.bo import GPConfig, GPOptimizer
from guardopt.bo.multiobjective import MultiObjectiveGP, augmented_chebyshev, ehvi_analytic, ehvi_monte_carlo, log_ehvi
from guardopt.core.errors import InputDataError, InvalidParameterError, UnsupportedError
from guardopt.core.pareto import hypervolume

FAST = {"n_candidates": 64, "n_local": 8}
LINE = go.Space({"x": go.Real(0, 1)})
TOP = 1.7e308


@pytest.fixture(autouse=True)
def _quiet() -> None:
    logging.getLogger("guardopt").setLevel(logging.ERROR)


@pytest.mark.parametrize("guard", ["pessimistic", "optimistic"])
def test_guarded_best_of_a_repeated_configuration_is_the_chosen_evaluation(guard: str) -> None:
    st = go.Study(LINE, optimizer=GPOptimizer(seed=0, **FAST))
    for v in [0.0, 1.0, 2.0, 3.0]:
        st.add_trial({"x": 0.5}, v)
    st.add_trial({"x": 0.25}, 5.0)
    best = st.best(guard=guard)
    assert best is not None
    # The optimizer ranks by observed loss and picks row 0 (value 0.0); matching by parameters
    # alone used to return the last repeat, value 3.0.
    assert (best.number, best.value) == (0, 0.0)
    assert st.optimizer.recommend_trial_number(guard) == 0


def test_guarded_front_holds_one_evaluation_per_configuration() -> None:
    st = go.Study(LINE, directions=["minimize", "minimize"], optimizer=MultiObjectiveGP(seed=0, **FAST))
    st.add_trial({"x": 0.5}, [0.0, 0.0])
    st.add_trial({"x": 0.5}, [10.0, 10.0])
    st.add_trial({"x": 0.25}, [5.0, 5.0])
    front = st.pareto_front(guard="pessimistic")
    assert [t.number for t in front] == [0]
    assert [t.number for t in st.pareto_front()] == [0]
    assert st.optimizer.recommend_front(guard="pessimistic") == [{"x": 0.5}]


@pytest.mark.parametrize("make", [lambda: GPOptimizer(seed=0, n_initial=3, **FAST),
                                  lambda: MultiObjectiveGP(seed=0, n_initial=3, **FAST)])
def test_an_optimizer_reused_by_a_second_study_models_only_that_study(make) -> None:  # type: ignore[no-untyped-def]
    opt = make()
    multi = isinstance(opt, MultiObjectiveGP)
    dirs = {"directions": ["minimize", "minimize"]} if multi else {}
    a = go.Study(LINE, optimizer=opt, **dirs)
    a.optimize(lambda p: [p["x"], 1 - p["x"]] if multi else (p["x"] - 0.2) ** 2, n_trials=5)
    b = go.Study(LINE, optimizer=opt, **dirs)
    b.optimize(lambda p: [5 + p["x"], 6 - p["x"]] if multi else 5.0 + (p["x"] - 0.9) ** 2, n_trials=4)
    assert len(opt._loss) == 4
    if not multi:
        best = b.best(guard="pessimistic")
        assert best is not None and best.value >= 5.0
    # A different space: the encoding is rebuilt, no stale columns.
    c = go.Study(go.Space({"k": go.Choice(["a", "b"]), "x": go.Real(0, 1)}), optimizer=opt, **dirs)
    c.optimize(lambda p: [p["x"], 1 - p["x"]] if multi else p["x"], n_trials=5)
    assert len(opt._loss) == 5


def test_config_and_loose_arguments_do_not_mix() -> None:
    with pytest.raises(InvalidParameterError, match="'acquisition'"):
        GPOptimizer("ucb", config=GPConfig())
    with pytest.raises(InvalidParameterError, match="'batch_size'"):
        GPOptimizer(batch_size=4, config=GPConfig())
    with pytest.raises(InvalidParameterError, match="'n_initial'"):
        GPOptimizer(config=GPConfig(), n_initial=3)


def test_recommend_target_refuses_without_a_fidelity_or_data() -> None:
    st = go.Study(LINE, optimizer=GPOptimizer(seed=0, **FAST))
    with pytest.raises(UnsupportedError, match="fidelity"):
        st.optimizer.recommend_target()
    mf = go.Space({"x": go.Real(0, 1), "s": go.Real(0.1, 1.0)})
    opt = GPOptimizer("kg", seed=0, fidelity="s", fidelity_cost=lambda s: s, **FAST)
    go.Study(mf, optimizer=opt)
    with pytest.raises(UnsupportedError, match="two evaluated"):
        opt.recommend_target()


@pytest.mark.parametrize("cost", [math.nan, -1.0, 0.0, "a", math.inf])
def test_a_bad_fidelity_cost_is_named(cost: object) -> None:
    mf = go.Space({"x": go.Real(0, 1), "s": go.Real(0.1, 1.0)})
    st = go.Study(mf, optimizer=GPOptimizer("kg", seed=0, fidelity="s", fidelity_cost=lambda s: cost, n_initial=3,
                                            kg_points=8, **FAST))
    for p in ({"x": 0.1, "s": 0.2}, {"x": 0.5, "s": 0.6}, {"x": 0.9, "s": 1.0}):
        st.add_trial(p, p["x"] ** 2)
    with pytest.raises(InvalidParameterError, match="'fidelity_cost'"):
        st.ask()


def test_target_fidelity_must_be_a_number() -> None:
    with pytest.raises(InvalidParameterError, match="'target_fidelity'"):
        GPConfig(acquisition="kg", fidelity="s", fidelity_cost=lambda s: s, target_fidelity="a")  # type: ignore[arg-type]


def test_predictions_at_the_float64_limit_stay_finite() -> None:
    opt = GPOptimizer(seed=0, **FAST)
    st = go.Study(LINE, optimizer=opt)
    for x, v in [(0.0, TOP), (0.1, -TOP), (0.2, TOP), (0.3, -TOP), (0.5, TOP), (0.55, TOP), (0.6, -TOP)]:
        st.add_trial({"x": x}, v)
    mean, sd = opt.predict([{"x": float(x)} for x in np.linspace(0, 1, 51)])
    assert np.isfinite(mean).all() and np.isfinite(sd).all() and (sd >= 0).all()


def test_multiobjective_at_the_float64_limit_keeps_finite_reference_and_parego() -> None:
    for acquisition in ("ehvi", "parego"):
        opt = MultiObjectiveGP(acquisition, seed=0, n_initial=3, **FAST)
        st = go.Study(LINE, directions=["minimize", "minimize"], optimizer=opt)
        vals = [(1e308, 0.85), (-1e308, 0.05), (-1e308, 0.42), (1e308, 0.75)]
        for i, v in enumerate(vals):
            st.add_trial({"x": 0.1 + 0.2 * i}, list(v))
        ref = opt.reference_point()
        assert np.isfinite(ref).all()
        assert ref[0] >= 1e308 and ref[1] > 0.85  # beyond the nadir in both objectives
        st.optimize(lambda p: [p["x"], 1 - p["x"]], n_trials=2)
        assert sum(t.state is go.TrialState.COMPLETE for t in st.trials) == 6


def test_reference_point_before_any_data_is_ones() -> None:
    opt = MultiObjectiveGP(seed=0)
    go.Study(LINE, directions=["minimize", "maximize"], optimizer=opt)
    assert opt.reference_point().tolist() == [1.0, 1.0]


def test_public_ehvi_functions_refuse_bad_arguments_by_name() -> None:
    mu, sd, ref = [[0.5, 0.5]], [[0.1, 0.1]], [1.0, 1.0]
    with pytest.raises(InputDataError, match="'front'"):
        log_ehvi(mu, sd, [[0.2, 0.3, 0.4]], ref)
    with pytest.raises(InputDataError, match="'front'"):
        log_ehvi(mu, sd, [["a", "b"]], ref)
    for seed in ("x", -1, 1.5):
        with pytest.raises(InvalidParameterError, match="'seed'"):
            ehvi_monte_carlo(mu, sd, [[0.2, 0.3]], ref, seed=seed)  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="'losses'"):
        augmented_chebyshev([[math.nan, 1.0]], [0.5, 0.5])
    # Finite but near the limit: clipped, never infinite.
    assert np.isfinite(ehvi_analytic([[-1e308, -1e308]], [[1e307, 1e307]], [[0.0, 0.0]], [1e308, 1e308])).all()
    assert np.isfinite(augmented_chebyshev([[1e308, 1e308]], [1.0, 1.0])).all()
    # A front with non-finite rows is allowed: they are ignored.
    assert log_ehvi(mu, sd, [[math.nan, 0.1]], ref)[0] == log_ehvi(mu, sd, np.empty((0, 2)), ref)[0]


def test_hypervolume_beyond_float64_is_refused() -> None:
    with pytest.raises(InputDataError, match="float64"):
        hypervolume([[-1e308, -1e308]], [1e308, 1e308])
    assert hypervolume([[1, 3], [2, 2], [3, 1]], ref=[4, 4]) == 6.0

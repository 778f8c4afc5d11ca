"""GPOptimizer: the conformance kit for every acquisition, batches, constraints, failures, config."""

import math

import numpy as np
import pytest

import guardopt as go
from guardopt.bo.encoding import EncodedSpace
from guardopt.bo.optimizer import ACQUISITIONS, GPConfig, GPOptimizer
from guardopt.core.errors import InvalidParameterError
from guardopt.problems.synthetic import BRANIN, CONSTRAINED_BRANIN, MF_BRANIN
from guardopt.testing import OptimizerChecks, check_optimizer, default_space

FAST = {"n_candidates": 256, "n_local": 16, "n_restarts": 2, "kg_points": 32}


@pytest.mark.parametrize("acquisition", [a for a in ACQUISITIONS if a != "logei"])
def test_conformance(acquisition):
    # The cross-process check spawns Python (~2 s); it runs for EI and for the batch rounds below.
    checks = OptimizerChecks(lambda seed: GPOptimizer(acquisition, seed=seed, n_initial=4, **FAST), n_trials=8)
    checks.run_all(cross_process=acquisition == "ei")


def test_conformance_with_batch_rounds():
    check_optimizer(lambda seed: GPOptimizer("ei", batch_size=3, seed=seed, n_initial=4, **FAST), n_trials=8)


def test_projection_matches_space_round_trip():
    space = default_space()
    enc = EncodedSpace(space)
    u = np.random.default_rng(0).random((200, space.dim))
    proj = enc.project(u)
    for row, p in zip(u, proj, strict=True):
        np.testing.assert_allclose(p, space.encode(space.decode(row)), atol=1e-12)


def test_config_validation_message():
    with pytest.raises(InvalidParameterError, match="The 'acquisition' parameter of GPOptimizer must be one of"):
        GPConfig(acquisition="pi")
    with pytest.raises(InvalidParameterError, match="'batch_size' parameter of GPOptimizer"):
        GPOptimizer(batch_size=0)


def test_same_seed_same_asks_and_branin_progress():
    def run(seed):
        study = go.Study(BRANIN.space(), optimizer=GPOptimizer("ei", seed=seed, **FAST))
        study.optimize(BRANIN.objective(), n_trials=18)
        return study

    a, b = run(3), run(3)
    assert [t.params for t in a.trials] == [t.params for t in b.trials]
    assert min(BRANIN.regret(t.params) for t in a.trials) < 2.0


@pytest.mark.parametrize("acquisition", ["ei", "kg"])
def test_batch_is_distinct_and_spread(acquisition):
    study = go.Study(BRANIN.space(), optimizer=GPOptimizer(acquisition, seed=0, **FAST))
    study.optimize(BRANIN.objective(), n_trials=8)
    batch = study.ask_batch(4)
    xs = np.array([BRANIN.to_array(t.params) for t in batch])
    dists = np.linalg.norm(xs[:, None] - xs[None], axis=-1)[np.triu_indices(4, 1)]
    assert np.all(dists > 1e-6)


def test_parallel_executor_runs_batches():
    study = go.Study(BRANIN.space(), optimizer=GPOptimizer("ei", seed=1, **FAST))
    study.optimize(BRANIN.objective(), n_trials=12, n_jobs=3, executor="thread")
    params = [tuple(t.params.values()) for t in study.trials]
    assert len(params) == 12 and len(set(params)) == 12


def test_failed_points_are_not_proposed_again():
    # An objective that always fails on the left half: those points must never be asked twice.
    space = go.Space({"x": go.Integer(0, 5), "y": go.Choice(["a", "b"])})
    study = go.Study(space, optimizer=GPOptimizer("ei", seed=0, n_initial=3, **FAST))
    for _ in range(12):
        t = study.ask()
        study.tell(t, RuntimeError("boom") if t.params["x"] < 3 else float(t.params["x"]))
    seen = [tuple(t.params.values()) for t in study.trials]
    assert len(set(seen)) == 12  # all 12 points of the space, each once


def test_constrained_recommendation_fails_closed():
    cb = CONSTRAINED_BRANIN
    study = go.Study(cb.space(), constraints=cb.study_constraints(),
                     optimizer=GPOptimizer("ei", seed=0, **FAST))
    assert study.optimizer.recommend("pessimistic") is None  # nothing evaluated yet
    study.optimize(cb.objective(), n_trials=20)
    best = study.best(guard="pessimistic")
    # After 20 evaluations (16 of them feasible) the guard certifies a point near the constrained optimum.
    assert best is not None
    assert cb.is_feasible(best.params)
    assert cb.regret(best.params) < 0.05
    # With every constraint value missing, nothing is ever recommended.
    s2 = go.Study(cb.space(), constraints=cb.study_constraints(), optimizer=GPOptimizer("ei", seed=0, **FAST))
    for _ in range(8):
        t = s2.ask()
        s2.tell(t, {"value": float(BRANIN(BRANIN.to_array(t.params)))})
    assert s2.best(guard="pessimistic") is None
    # A missing constraint value is a violation (fail closed), whichever guard is asked.
    assert s2.optimizer.recommend("pessimistic") is None
    assert s2.optimizer.recommend("optimistic") is None


def test_multi_fidelity_prefers_cheap_evaluations_first():
    mf = MF_BRANIN
    opt = GPOptimizer("kg", seed=0, fidelity="fidelity", fidelity_cost=mf.cost, **FAST)
    study = go.Study(mf.space(), optimizer=opt)
    study.optimize(mf.objective(), n_trials=14)
    fids = [t.params["fidelity"] for t in study.trials[opt._n_initial:]]
    assert np.mean(fids) < 0.8
    rec = opt.recommend_target()
    assert math.isfinite(mf.regret(rec))


def test_multi_fidelity_needs_kg():
    with pytest.raises(InvalidParameterError):
        GPConfig(acquisition="ei", fidelity="fidelity", fidelity_cost=lambda s: 1.0)


def test_predict_is_the_posterior_in_the_objectives_units_and_direction():
    from guardopt.bo.gp import GaussianProcess, Standardizer
    from guardopt.core.errors import InputDataError, UnsupportedError

    space = go.Space({"x": go.Real(0.0, 4.0)})
    opt = GPOptimizer(seed=0, n_candidates=128)
    study = go.Study(space, direction="maximize", optimizer=opt)
    with pytest.raises(UnsupportedError, match="at least two evaluated trials"):
        opt.predict([{"x": 1.0}])
    study.optimize(lambda p: 10.0 - (p["x"] - 1.0) ** 2, n_trials=8)
    xs = [{"x": 0.5}, {"x": 1.0}, {"x": 3.9}]
    mean, sd = opt.predict(xs)
    # the same numbers by hand: the fitted GP on the standardized losses (loss = -value)
    loss = np.array([-(10.0 - (t.params["x"] - 1.0) ** 2) for t in study.trials])
    scaler = Standardizer.fit(loss)
    gp = GaussianProcess(np.array([space.encode(t.params) for t in study.trials]), scaler.transform(loss),
                         opt._theta)
    mu, var = gp.predict(np.array([space.encode(p) for p in xs]))
    np.testing.assert_allclose(mean, -(scaler.mean + scaler.std * mu), rtol=1e-12)
    np.testing.assert_allclose(sd, scaler.std * np.sqrt(var), rtol=1e-12)
    assert abs(mean[1] - 10.0) < 0.1 and mean[2] < 3.0  # an accuracy-like value, not a loss
    assert opt.predict([])[0].shape == (0,)
    for bad in ([{"x": 9.0}], [{"x": math.nan}], [{"x": math.inf}], [{"x": "a"}], [{}], [None]):
        with pytest.raises(InputDataError, match="'params' argument"):
            opt.predict(bad)  # type: ignore[arg-type]
    with pytest.raises(InputDataError, match="sequence of parameter mappings"):
        opt.predict({"x": 1.0})  # type: ignore[arg-type]
    warped = GPOptimizer(seed=0, output_transform="yeo-johnson")
    go.Study(space, optimizer=warped).optimize(lambda p: p["x"], n_trials=3)
    with pytest.raises(UnsupportedError, match="output_transform"):
        warped.predict(xs)


@pytest.mark.parametrize("flag", ["noise_free", "split_shared"])
@pytest.mark.parametrize("value", ["yes", 1, None, np.nan])
def test_boolean_options_take_only_booleans(flag, value):
    with pytest.raises(InvalidParameterError, match=flag):
        GPConfig(**{flag: value})
    assert getattr(GPConfig(**{flag: True}), flag) is True

"""Two-way Optuna interop: Optuna samplers pass guardopt's conformance kit, and guardopt's GP sampler
passes Optuna's own sampler test cases (``optuna.testing.pytest_samplers``)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

optuna = pytest.importorskip("optuna")

from optuna.testing.pytest_samplers import (  # noqa: E402 - after the importorskip
    BasicSamplerTestCase,
    RelativeSamplerTestCase,
    SingleOnlySamplerTestCase,
)

import guardopt as go  # noqa: E402
from guardopt.integrations.optuna import (  # noqa: E402
    MISSING_VIOLATION,
    GuardoptSampler,
    OptunaOptimizer,
    certify_best_trial,
    distributions_of,
    import_optuna_study,
    space_from_distributions,
)
from guardopt.testing import OptimizerChecks  # noqa: E402

optuna.logging.set_verbosity(optuna.logging.WARNING)


# ---------------------------------------------------------------- Optuna samplers in guardopt


@pytest.mark.slow
def test_tpe_asks_the_same_sequence_in_another_process():
    OptimizerChecks(lambda seed: OptunaOptimizer("tpe", seed=seed)).check_same_sequence_in_other_process()


@pytest.mark.parametrize("name", ["tpe", "qmc", "nsga2", "random"])
def test_other_optuna_samplers_pass_the_conformance_kit(name):
    OptimizerChecks(lambda seed: OptunaOptimizer(name, seed=seed)).run_all(cross_process=False)


def test_cmaes_passes_the_conformance_kit():
    pytest.importorskip("cmaes")  # Optuna's CmaEsSampler needs the cmaes package
    OptimizerChecks(lambda seed: OptunaOptimizer("cmaes", seed=seed)).run_all(cross_process=False)


def test_a_sampler_factory_is_accepted_and_an_instance_is_refused():
    opt = OptunaOptimizer(lambda s: optuna.samplers.TPESampler(seed=s, multivariate=True), seed=3)
    study = go.Study(go.Space({"x": go.Real(0, 1)}), optimizer=opt)
    study.optimize(lambda p: p["x"], n_trials=5)
    assert len(opt.optuna_study.trials) == 5
    with pytest.raises(go.InvalidParameterError, match="'sampler' parameter of OptunaOptimizer"):
        OptunaOptimizer(optuna.samplers.TPESampler(seed=0))  # type: ignore[arg-type]
    with pytest.raises(go.InvalidParameterError, match="'sampler'"):
        OptunaOptimizer("annealing")
    with pytest.raises(go.InvalidParameterError, match="'seed'"):
        OptunaOptimizer("tpe", seed=-1)


def test_constraint_residuals_reach_the_optuna_sampler_and_missing_ones_fail_closed():
    opt = OptunaOptimizer("tpe", seed=0)
    study = go.Study(go.Space({"x": go.Real(0, 1)}), constraints={"c": ("<=", 0.25)}, optimizer=opt)
    t = study.ask()
    study.tell(t, {"value": 1.0, "c": 0.5})
    t = study.ask()
    study.tell(t, {"value": 2.0})  # missing constraint value
    first, second = opt.optuna_study.trials
    assert first.constraints == {"c": pytest.approx(0.25)}  # residual 0.5 - 0.25
    assert second.constraints == {"c": MISSING_VIOLATION}


def test_maximize_is_sent_as_a_loss():
    opt = OptunaOptimizer("random", seed=0)
    study = go.Study(go.Space({"x": go.Real(0, 1)}), direction="maximize", optimizer=opt)
    study.optimize(lambda p: p["x"], n_trials=3)
    assert [t.value for t in opt.optuna_study.trials] == [-t.value for t in study.trials]


def test_space_round_trip_and_stepped_distributions():
    space = go.Space({"x": go.Real(1e-3, 1.0, log=True), "n": go.Integer(1, 9), "k": go.Choice(["a", "b"])})
    assert space_from_distributions(distributions_of(space)) == space
    stepped = space_from_distributions({"s": optuna.distributions.FloatDistribution(-1, 1, step=0.5),
                                        "fixed": optuna.distributions.IntDistribution(3, 3)})
    assert stepped == go.Space({"s": go.Integer(0, 4)})  # an index on the grid; the fixed one dropped
    with pytest.raises(go.InvalidParameterError, match="'distributions'"):
        space_from_distributions({"fixed": optuna.distributions.IntDistribution(3, 3)})


# ------------------------------------------------------------ guardopt's GP as an Optuna sampler


class TestGuardoptSamplerWithOptunasOwnCases(BasicSamplerTestCase, RelativeSamplerTestCase,
                                            SingleOnlySamplerTestCase):
    """Optuna's test cases for third-party samplers, run unchanged on `GuardoptSampler`."""

    @pytest.fixture
    def sampler(self):
        # A small candidate set keeps the GP's acquisition maximization quick in these many short runs.
        return lambda: GuardoptSampler(seed=0, n_startup_trials=3, n_candidates=256, n_local=16, n_restarts=1)


def _sequence(seed: int) -> list[dict]:
    study = optuna.create_study(sampler=GuardoptSampler(seed=seed, n_startup_trials=3, n_candidates=256))
    study.optimize(lambda t: (t.suggest_float("x", -1, 1) - 0.2) ** 2 + t.suggest_int("n", 0, 4), n_trials=8)
    return [t.params for t in study.trials]


def test_gp_sampler_same_seed_same_sequence_different_seed_differs():
    assert _sequence(5) == _sequence(5)
    assert _sequence(5) != _sequence(6)


def test_gp_sampler_models_optuna_constraints():
    # Minimize x subject to x >= 0.6 (Optuna's convention: constraint value <= 0 is feasible).
    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        trial.set_constraint("c", 0.6 - x)
        return x

    study = optuna.create_study(sampler=GuardoptSampler(seed=0, n_startup_trials=4))
    study.optimize(objective, n_trials=16)
    feasible = [t for t in study.trials if t.constraints["c"] <= 0]
    best = min(feasible, key=lambda t: t.value)
    assert 0.6 <= best.params["x"] < 0.7
    # After the design, most proposals sit on the feasible side near the boundary.
    later = [t.params["x"] for t in study.trials[4:]]
    assert np.mean([x >= 0.55 for x in later]) >= 0.7


def test_gp_sampler_validates_its_settings():
    with pytest.raises(go.InvalidParameterError, match="'n_startup_trials' parameter of GuardoptSampler"):
        GuardoptSampler(n_startup_trials=0)
    with pytest.raises(go.InvalidParameterError, match="'acquisition'"):
        GuardoptSampler(acquisition="magic")
    assert isinstance(GuardoptSampler(seed=1), optuna.samplers.BaseSampler)


# ----------------------------------------------------------------------- certify and import


def _optuna_study() -> optuna.Study:
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: (t.suggest_float("x", 0, 1) - 0.3) ** 2, n_trials=10)
    return study


def test_certify_best_trial_matches_a_hand_computed_student_t_bound():
    study = _optuna_study()
    costs_seen = {}

    def costs(params):
        costs_seen.update(params)
        return {"error": np.array([0.0, 1.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0]),
                "latency": np.array([3.0, 4.0, 5.0, 4.0])}

    cert = certify_best_trial(study, costs, {"error": 0.6, "latency": 6.0}, delta=0.1)
    assert costs_seen == study.best_params and cert.trial_number == study.best_trial.number
    # Each constraint at delta / 2 = 0.05: mean + t_{0.95, n-1} * sd / sqrt(n).
    e = np.array([0, 1, 0, 0, 1, 0, 0, 0.0])
    ub_error = e.mean() + stats.t.ppf(0.95, 7) * e.std(ddof=1) / math.sqrt(8)
    ub_latency = 4.0 + stats.t.ppf(0.95, 3) * np.std([3, 4, 5, 4.0], ddof=1) / 2.0
    assert cert.verdicts["error"].upper_bound == pytest.approx(ub_error, rel=1e-9)  # 0.5666
    assert cert.verdicts["latency"].upper_bound == pytest.approx(ub_latency, rel=1e-9)  # 4.9608
    assert cert.passed and bool(cert)
    tight = certify_best_trial(study, costs, {"error": 0.5, "latency": 6.0}, delta=0.1)
    assert not tight and "error" in tight.reason


def test_certify_best_trial_fails_closed_and_names_bad_arguments():
    study = _optuna_study()
    nan = certify_best_trial(study, lambda p: {"error": [0.0, np.nan, 0.0]}, {"error": 0.5})
    assert not nan.passed
    with pytest.raises(go.InputDataError, match="Missing \\['error'\\]"):
        certify_best_trial(study, lambda p: {"other": [0.0, 0.0]}, {"error": 0.5})
    with pytest.raises(go.InvalidParameterError, match="'delta' parameter of certify_best_trial"):
        certify_best_trial(study, lambda p: {"error": [0.0, 0.0]}, {"error": 0.5}, delta=1.5)
    with pytest.raises(go.InvalidParameterError, match="'study'"):
        certify_best_trial(optuna.create_study(), lambda p: {"error": [0.0, 0.0]}, {"error": 0.5})


def test_import_optuna_study_warm_starts_a_guardopt_study():
    source = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))

    def objective(t):
        x = t.suggest_float("x", 0, 1)
        t.set_constraint("0", x - 0.8)
        if x > 0.9:
            raise RuntimeError("diverged")
        return (x - 0.3) ** 2

    source.optimize(objective, n_trials=12, catch=(RuntimeError,))
    study = go.Study(go.Space({"x": go.Real(0, 1)}), constraints={"c": ("<=", 0.0)})
    n = import_optuna_study(source, study, constraint_names={"0": "c"})
    assert n == 12 == len(study.trials)
    assert [t.state.value for t in study.trials] == [
        "COMPLETE" if t.state == optuna.trial.TrialState.COMPLETE else "FAILED" for t in source.trials]
    best = study.best()
    assert best is not None and best.value == pytest.approx(source.best_value)
    with pytest.raises(go.InvalidParameterError, match="'study' parameter of import_optuna_study"):
        import_optuna_study(source, go.Study(go.Space({"x": go.Real(0, 1)}), direction="maximize"))
    with pytest.raises(go.InputDataError):
        import_optuna_study(source, go.Study(go.Space({"y": go.Real(0, 1)})))


def test_conditional_space_is_suggested_define_by_run():
    space = go.Space({"kernel": go.Choice(["linear", "rbf"]),
                      "gamma": go.Real(1e-3, 1.0, log=True, when={"kernel": "rbf"})})
    opt = OptunaOptimizer("tpe", seed=0)
    study = go.Study(space, optimizer=opt)
    study.optimize(lambda p: p.get("gamma", 0.5), n_trials=12)
    for t in study.trials:
        assert ("gamma" in t.params) == (t.params["kernel"] == "rbf")
    assert [set(t.params) for t in opt.optuna_study.trials] == [set(t.params) for t in study.trials]


def test_an_optuna_objective_with_an_optuna_sampler_runs_under_a_guardopt_study():
    def objective(trial):  # written for Optuna: the space is defined as it runs, conditionally
        x = trial.suggest_float("x", -5, 5)
        if trial.suggest_categorical("k", ["a", "b"]) == "b":
            return (x - 1) ** 2 + trial.suggest_float("y", 1e-3, 1.0, log=True)
        return (x - 1) ** 2 + 0.5

    study = go.Study(optimizer=OptunaOptimizer("tpe", seed=0))
    study.optimize(objective, n_trials=25)
    assert len(study.trials) == 25 and study.best_value < 0.5
    assert all(("y" in t.params) == (t.params["k"] == "b") for t in study.trials)

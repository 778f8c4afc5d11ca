from __future__ import annotations

import pytest

from guardopt.reproduce.spec import Record, Results, Status


def _ignite_results(gains: dict[str, float]) -> Results:
    from guardopt.reproduce.papers.ignite import REPRODUCTION as R

    recs = []
    for task in R.tasks:
        for seed in range(2):
            base = {"p100": 0.5, "p50": 0.2, "best_visible": 0.4, "grad_norm": 2.0, "overestimation": 1.0,
                    "lam_final": float("nan")}
            recs.append(Record(task, "grad", seed, "done", base, {}))
            ig = dict(base, p100=0.5 + gains.get(task, 0.01), lam_final=0.1)
            for m in R.methods:
                if m != "grad":
                    recs.append(Record(task, m, seed, "done", ig, {}))
    return Results(recs, R.tasks, R.methods)


def test_ignite_declaration_and_grid() -> None:
    from guardopt.reproduce.papers.ignite import PINNED, config_for
    from guardopt.reproduce.papers.ignite import REPRODUCTION as R

    assert len(R.cells("full")) == 7 * 6 * 8
    assert {c.method for c in R.cells("quick")} == {"grad", "ignite"}
    cfg = config_for("ignite-r0.05", {})
    assert cfg.method == "ignite" and cfg.ignite.rho == cfg.ignite.r == 0.05
    assert config_for("ignite", {}).ignite.rho == PINNED["rho"]
    assert config_for("ignite-fixed", {}).method == "ignite-fixed"
    with pytest.raises(ValueError):
        config_for("cma", {})


def test_ignite_verdict_counts_wins() -> None:
    from guardopt.reproduce.papers.ignite import REPRODUCTION as R

    assert R.verdict(_ignite_results({"ackley": -0.01})).status == Status.HOLDS
    v = R.verdict(_ignite_results({"ackley": -0.01, "levy": -0.02}))
    assert v.status == Status.FAILS and v.evidence[0].value == 4
    empty = Results([], R.tasks, R.methods)
    assert R.verdict(empty).status == Status.INCONCLUSIVE
    md = R.extra_markdown(_ignite_results({}))  # type: ignore[misc]
    assert "Sensitivity to the radius" in md and "| dna8 |" in md


def _re_results(final: dict[str, float], drop: dict[str, float]) -> Results:
    from guardopt.reproduce.papers.reward_ensembles import REPRODUCTION as R

    recs = []
    for m in R.methods:
        for seed in range(3):
            metrics = {"gold_final": final[m], "drop_from_peak": drop[m], "est_n16": 1.0, "mc_n16": 1.001,
                       "mc_se_n16": 0.01, "gold_peak": 1.5, "n_peak": 64.0, "proxy_final": 3.0}
            recs.append(Record(R.tasks[0], m, seed, "done", metrics,
                               {"gold": [0.0, 1.0], "proxy": [0.0, 2.0], "n": [1.0, 2.0], "kl": [0.0, 0.19]}))
    return Results(recs, R.tasks, R.methods)


def test_reward_ensembles_verdict() -> None:
    from guardopt.reproduce.papers.reward_ensembles import REPRODUCTION as R

    good = _re_results({"uwo": 1.0, "wco": 0.9, "mean": 0.5, "single": 0.4},
                       {"uwo": 0.5, "wco": 0.6, "mean": 1.0, "single": 1.1})
    assert R.verdict(good).status == Status.HOLDS
    bad = _re_results({"uwo": 1.0, "wco": 0.3, "mean": 0.5, "single": 0.4},
                      {"uwo": 0.5, "wco": 0.6, "mean": 1.0, "single": 1.1})
    assert R.verdict(bad).status == Status.FAILS
    assert "Best-of-n gold score" in R.extra_markdown(good)  # type: ignore[misc]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["ignite", "reward_ensembles"])
def test_quick_scale_runs(name: str) -> None:
    import importlib

    R = importlib.import_module(f"guardopt.reproduce.papers.{name}").REPRODUCTION
    recs = []
    for c in R.cells("quick"):
        r = R.run_cell(c)
        recs.append(Record(c.task, c.method, c.seed, "done", r.metrics, r.curves))
    v = R.verdict(Results(recs, R.tasks, R.methods))
    assert v.status in (Status.HOLDS, Status.FAILS)

"""The dashboard on studies besides single-objective ones with varied values: several objectives, a
flat objective."""

from __future__ import annotations

from pathlib import Path

from dashboard_helpers import SPACE, get_json

import guardopt as go
from guardopt.dashboard import Dashboard, open_read_only, study_payload


def test_a_multi_objective_study_is_shown_not_a_server_error(tmp_path: Path) -> None:
    # history_table refuses several objectives; /api/study answered 500 and the page showed nothing.
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    study = go.Study(SPACE, name="mo", directions=["minimize", "maximize"], constraints={"c": ("<=", 0.0)},
                     storage=url, optimizer=go.RandomSearch(seed=0))
    for _ in range(4):
        t = study.ask()
        study.tell(t, {"values": [t.params["x"], -t.params["x"]], "c": t.params["x"]})
    payload = study_payload(open_read_only(url), "mo")
    assert payload["history"] == [] and "multi-objective" in payload["history_reason"]
    assert payload["direction"] == "minimize, maximize"
    assert payload["counts"]["complete"] == 4 and len(payload["constraint_values"]["c"]["points"]) == 4
    with Dashboard(url, port=0, model_interval=0.0, importance="permutation") as d:
        assert get_json(d, "/api/study?name=mo")["history_reason"] == payload["history_reason"]
        assert "Pareto front" in get_json(d, "/api/model?name=mo")["recommendation"]["reason"]


def test_a_single_objective_study_has_no_history_reason(db: str) -> None:
    payload = study_payload(open_read_only(db), "demo")
    assert payload["history_reason"] is None and payload["direction"] == "minimize"
    assert len(payload["history"]) == 6


def test_the_importance_of_a_flat_objective_is_zero(tmp_path: Path) -> None:
    # Optuna's fANOVA raised RuntimeError on values without variance: /api/model answered 500.
    url = f"sqlite:///{tmp_path / 'flat.db'}"
    study = go.Study(SPACE, name="flat", storage=url, optimizer=go.RandomSearch(seed=0))
    for _ in range(5):
        study.tell(study.ask(), 1.0)
    with Dashboard(url, port=0, model_interval=0.0, importance="auto") as d:
        importance = get_json(d, "/api/model?name=flat")["importance"]
    assert [share for _, share in importance["rows"]] == [0.0, 0.0], importance

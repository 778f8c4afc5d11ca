"""``guardopt audit`` on a CSV: scores, a fitted model, JSON output, usage errors."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from guardopt.cli.main import main
from guardopt.problems.audit_tasks import two_group_base_rates


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory):
    d = two_group_base_rates(300, seed=0)
    s = 1 / (1 + np.exp(-(d.X.sum(axis=1) / np.sqrt(3) - 0.4)))
    path = tmp_path_factory.mktemp("audit") / "scored.csv"
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["x0", "x1", "x2", "label", "score", "race"])
        for i in range(d.y.size):
            w.writerow([*d.X[i], int(d.y[i]), s[i], "b" if d.group[i] else "a"])
    return path


def test_help():
    with pytest.raises(SystemExit) as exc:
        main(["audit", "--help"])
    assert exc.value.code == 0


def test_audit_scores(csv_path, tmp_path, capsys):
    out_json = tmp_path / "r.json"
    assert main(["audit", str(csv_path), "--label", "label", "--score", "score", "--group", "race",
                 "--json", str(out_json)]) == 0
    text = capsys.readouterr().out
    assert "demographic_parity" in text and "infeasible" in text
    rep = json.loads(out_json.read_text())
    assert rep["rows"] == 300 and set(rep["metrics"]) == {"demographic_parity", "equalized_odds", "calibration"}
    assert rep["calibration_error_rate_gap"] > 0.05  # base rates 0.3 vs 0.5


def test_audit_model_reports_multiplicity(csv_path, tmp_path, capsys):
    out_json = tmp_path / "m.json"
    assert main(["audit", str(csv_path), "--label", "label", "--features", "x0,x1,x2", "--group", "race",
                 "--points", "3", "--json", str(out_json)]) == 0
    rep = json.loads(out_json.read_text())
    assert rep["multiplicity"]["unsolved"] == 0 and rep["multiplicity"]["mean_width"] > 0
    assert rep["multiplicity"]["discrepancy_bound"] <= rep["multiplicity"]["ambiguity"]
    assert "Predictive multiplicity" in capsys.readouterr().out


def test_usage_errors_exit_2(csv_path, tmp_path, capsys):
    base = ["audit", str(csv_path), "--label", "label", "--group", "race"]
    assert main([*base, "--score", "nope"]) == 2
    assert "not in" in capsys.readouterr().err
    assert main(["audit", str(tmp_path / "missing.csv"), "--label", "y", "--group", "g", "--score", "s"]) == 2
    assert main([*base, "--score", "score", "--thresholds", "bogus=0.1"]) == 2
    assert main(["audit", str(csv_path), "--label", "label", "--group", "x0", "--score", "score"]) == 2
    bad = tmp_path / "nan.csv"
    bad.write_text("label,score,race\n1,nan,a\n0,0.2,b\n1,0.7,a\n0,0.1,b\n")
    assert main(["audit", str(bad), "--label", "label", "--score", "score", "--group", "race"]) == 2
    assert "finite" in capsys.readouterr().err

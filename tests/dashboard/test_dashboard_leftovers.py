"""Dashboard leftovers of the audit: a multi-objective trial's values in the trial table, PRUNED counted."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import guardopt as go
from guardopt.dashboard import open_read_only, studies_payload, study_payload
from guardopt.dashboard.assets import JS

SPACE = go.Space({"x": go.Real(0.0, 1.0)})


def _mo_url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'mo.db'}"
    study = go.Study(SPACE, name="mo", directions=["minimize", "maximize"], storage=url,
                     optimizer=go.RandomSearch(seed=0))
    t = study.ask()
    study.tell(t, {"values": [0.31, 12.0]})
    study.ask()  # left RUNNING: no values yet
    return url


def test_a_multi_objective_trial_row_carries_its_objective_values(tmp_path: Path) -> None:
    rows = study_payload(open_read_only(_mo_url(tmp_path)), "mo")["trials"]
    by_number = {r["number"]: r for r in rows}
    assert by_number[0]["values"] == [0.31, 12.0] and by_number[0]["value"] is None
    assert by_number[1]["values"] is None  # still running


def test_a_single_objective_trial_row_has_no_values_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'so.db'}"
    study = go.Study(SPACE, name="so", storage=url, optimizer=go.RandomSearch(seed=0))
    study.add_trial({"x": 0.5}, 1.0)
    (row,) = study_payload(open_read_only(url), "so")["trials"]
    assert "values" not in row and row["value"] == 1.0


def _page_functions() -> str:
    parts = []
    for name in ("fmt", "fmtValue"):
        m = re.search(rf"^function {name}\(.*?^}}$", JS, re.S | re.M)
        assert m is not None, f"the page script lost {name}"
        parts.append(m.group(0))
    return "\n".join(parts)


def test_the_page_shows_a_multi_objective_trials_values() -> None:
    assert "fmtValue(t)" in JS  # the trial table's value column
    node = shutil.which("node")
    if node is None:
        pytest.skip("no node binary to run the page's formatting functions")
    rows = [{"value": None, "values": [0.31, 12.0]}, {"value": 0.5}, {"value": None, "values": None}]
    script = _page_functions() + f"\nconsole.log(JSON.stringify({json.dumps(rows)}.map(fmtValue)));"
    out = subprocess.run([node, "-e", script], capture_output=True, text=True, timeout=30, check=True).stdout
    assert json.loads(out) == ["0.31, 12", "0.5", "—"]


def test_pruned_trials_are_counted(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'p.db'}"
    study = go.Study(SPACE, name="p", storage=url, optimizer=go.RandomSearch(seed=0))
    study.add_trial({"x": 0.5}, 1.0)
    study.add_trial({"x": 0.2}, state="PRUNED")
    study.add_trial({"x": 0.3}, state="PRUNED")
    study.add_trial({"x": 0.4}, state="FAILED")
    counts = study_payload(open_read_only(url), "p")["counts"]
    assert counts["pruned"] == 2
    assert counts["complete"] + counts["running"] + counts["failed"] + counts["pruned"] == counts["trials"] == 4
    (row,) = studies_payload(open_read_only(url))["studies"]
    assert row["pruned"] == 2 and row["complete"] + row["running"] + row["failed"] + row["pruned"] == row["trials"]
    assert 'card("pruned", d.counts.pruned)' in JS

"""Every route of the dashboard over plain HTTP: answers, escaping, no path traversal, no writes."""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

import pytest
from dashboard_helpers import EVIL, SPACE, get_json, request, write_trials

import guardopt as go
from guardopt.core.storage import SQLiteStorage
from guardopt.core.trial import TrialState
from guardopt.dashboard import Dashboard
from guardopt.dashboard.server import CSP


def _snapshot(url: str) -> tuple[str, list[str]]:
    path = Path(url[len("sqlite:///"):])
    conn = sqlite3.connect(path)
    try:
        dump = list(conn.iterdump())
    finally:
        conn.close()
    return hashlib.sha256(path.read_bytes()).hexdigest(), dump


ROUTES = [
    ("/", "text/html"),
    ("/index.html", "text/html"),
    ("/static/dashboard.js", "text/javascript"),
    ("/static/dashboard.css", "text/css"),
    ("/api/info", "application/json"),
    ("/api/studies", "application/json"),
    ("/api/study?name=demo", "application/json"),
    ("/api/model?name=demo", "application/json"),
    ("/api/reports", "application/json"),
    ("/reports/alpha", "text/html"),
    ("/reports/alpha.md", "text/html"),
    ("/reports/figures/alpha/curve.png", "image/png"),
]


def test_every_route_answers_with_its_type_and_the_safety_headers(dash: Dashboard, db: str) -> None:
    before = _snapshot(db)
    for path, kind in ROUTES:
        status, headers, body = request(dash, path)
        assert status == 200, (path, body[:200])
        assert headers["Content-Type"].startswith(kind), path
        assert headers["Content-Security-Policy"] == CSP
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert body
    assert request(dash, "/favicon.ico")[0] == 204
    status, _, body = request(dash, "/api/study?name=demo", method="HEAD")
    assert status == 200 and body == b""
    assert _snapshot(db) == before  # reading changed nothing in the storage


def test_study_payload_is_the_stored_study(dash: Dashboard) -> None:
    studies = {s["name"]: s for s in get_json(dash, "/api/studies")["studies"]}
    assert set(studies) == {"demo", EVIL}
    # x = -2, 0, 0.5, 0.9 satisfy c = x <= 1; x = 2, 3 do not. Best feasible value (0.9 - 1)^2 = 0.01.
    assert studies["demo"]["trials"] == 6 and studies["demo"]["feasible"] == 4
    assert studies["demo"]["best_value"] == pytest.approx(0.01)
    d = get_json(dash, "/api/study?name=demo")
    assert [r["feasible"] for r in d["history"]] == [True, True, True, True, False, False]
    assert [r["best_feasible"] for r in d["history"]] == pytest.approx([9.0, 1.0, 0.25, 0.01, 0.01, 0.01])
    points = d["constraint_values"]["c"]["points"]
    assert [p[0] for p in points] == list(range(6))
    assert [p[2] for p in points] == [True, True, True, True, False, False]
    assert d["constraint_values"]["c"]["op"] == "<=" and d["constraint_values"]["c"]["limit"] == 1.0
    assert d["best"]["number"] == 3 and d["params"] == ["x", "k"]
    assert [t["number"] for t in d["trials"]] == [5, 4, 3, 2, 1, 0]  # newest first
    m = get_json(dash, "/api/model?name=demo")
    assert m["version"] == d["version"] and m["stale"] is False
    rec = m["recommendation"]
    # The pessimistic guard only ever keeps measured-feasible trials.
    assert rec.get("number") in (None, 0, 1, 2, 3) and rec["guard"] in ("gp-pessimistic", "measured")
    assert [r[0] for r in m["importance"]["rows"]] and "permutation" in m["importance"]["note"]


def test_new_trials_show_while_the_server_runs(dash: Dashboard, db: str) -> None:
    first = get_json(dash, "/api/study?name=demo")
    idle = get_json(dash, f"/api/study?name=demo&known={first['version']}")
    assert idle == {"name": "demo", "version": first["version"], "unchanged": True}
    study = go.Study.load("demo", db)
    write_trials(study, [0.99, 1.5])
    second = get_json(dash, f"/api/study?name=demo&known={first['version']}")
    assert second["counts"]["trials"] == first["counts"]["trials"] + 2
    assert second["version"] != first["version"]
    assert second["trials"][0]["number"] == 7 and second["best"]["number"] == 6
    model = get_json(dash, "/api/model?name=demo")
    assert model["version"] == second["version"]
    new = go.Study(SPACE, name="late", constraints={"c": ("<=", 1.0)}, storage=db, optimizer=go.RandomSearch(seed=2))
    write_trials(new, [0.0])
    assert "late" in {s["name"] for s in get_json(dash, "/api/studies")["studies"]}


def test_user_strings_are_escaped(dash: Dashboard) -> None:
    status, _, page = request(dash, "/")
    assert status == 200 and b"alert" not in page  # the page itself holds no user data
    for path in ("/api/studies", f"/api/study?name={quote(EVIL)}", f"/api/model?name={quote(EVIL)}"):
        status, _, body = request(dash, path)
        assert status == 200
        assert b"<" not in body and b">" not in body  # inert bytes, whatever renders them
    d = get_json(dash, f"/api/study?name={quote(EVIL)}")
    assert d["name"] == EVIL and d["params"] == ["<img src=x onerror=alert(2)>"]
    assert d["constraints"][0]["name"] == '"><b>bold</b>'
    status, _, body = request(dash, "/reports/alpha")
    text = body.decode()
    assert "<script>alert(3)" not in text and "&lt;script&gt;alert(3)" in text
    assert 'href="javascript:' not in text  # the link is dropped (its text stays as text)
    assert '<img src="figures/alpha/curve.png"' in text and "<table>" in text
    status, _, body = request(dash, "/api/study?name=%3Cb%3Enope%3C%2Fb%3E")
    assert status == 404 and b"<b>" not in body


def test_the_verdict_table_links_only_reports_that_exist(dash: Dashboard) -> None:
    r = get_json(dash, "/api/reports")
    assert r["columns"] == ["reproduction", "paper", "verdict", "scale"]
    alpha, gone = r["rows"]
    assert alpha[0] == {"text": "alpha", "report": "alpha"}
    assert alpha[1]["text"] == "A | B <i>paper</i>" and alpha[2]["text"] == "HOLDS"
    assert gone[0] == {"text": "gone"}  # no such file: text, no link
    assert "2026-12-01" in r["note"]
    assert request(dash, "/reports/gone")[0] == 404


TRAVERSALS = [
    "/reports/../secret.md", "/reports/%2e%2e/secret.md", "/reports/..%2Fsecret.md", "/reports/..%2fsecret",
    "/reports/figures/../../secret.png", "/reports/figures/%2e%2e/%2e%2e/secret.png",
    "/reports/figures/alpha/..%2F..%2F..%2Fsecret.png", "/reports/figures/alpha/curve.png/..",
    "/reports/index", "/reports/index.md", "/reports/", "/reports/%00alpha", "/static/../server.py",
    "/static/dashboard.py", "/../secret.md", "//etc/passwd", "/etc/passwd", "/api/../../secret.md",
    "/api/unknown", "/studies.db", "/reports/figures/alpha", "/reports/figures/alpha/",
    "/reports/figures/alpha/curve.PNG",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_nothing_outside_the_routes_is_served(dash: Dashboard, path: str) -> None:
    status, _, body = request(dash, path)
    assert status == 404, path
    assert b"secret" not in body and b"root:" not in body


def test_a_symlink_out_of_the_reports_folder_is_not_served(dash: Dashboard, reports: Path) -> None:
    (reports / "figures" / "alpha" / "leak.png").symlink_to(reports.parent / "secret.png")
    (reports / "leak.md").symlink_to(reports.parent / "secret.md")
    assert request(dash, "/reports/figures/alpha/leak.png")[0] == 404
    assert request(dash, "/reports/leak")[0] == 404


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS"])
def test_only_reading_methods(dash: Dashboard, db: str, method: str) -> None:
    before = _snapshot(db)
    status, _, _ = request(dash, "/api/study?name=demo", method=method)
    assert status == 405
    assert _snapshot(db) == before


def test_bad_queries_and_foreign_hosts_are_refused(dash: Dashboard) -> None:
    assert request(dash, "/api/study")[0] == 400
    assert request(dash, "/api/study?name=demo&name=demo")[0] == 400
    assert request(dash, "/api/model?name=missing")[0] == 404
    # DNS rebinding: a page of another site resolving its name to 127.0.0.1 is refused.
    assert request(dash, "/api/studies", host="evil.example:8765")[0] == 403
    assert request(dash, "/api/studies", host="localhost:1")[0] == 200
    assert request(dash, "/api/studies", host="[::1]:1")[0] == 200


def test_non_finite_values_are_valid_json(tmp_path: Path) -> None:
    # Study.tell refuses non-finite values (it marks the trial FAILED); another writer may not.
    url = f"sqlite:///{tmp_path / 'nan.db'}"
    go.Study(SPACE, name="nan", constraints={"c": ("<=", 0.0)}, storage=url)
    storage = SQLiteStorage(tmp_path / "nan.db")
    for value, c in ((math.nan, 0.0), (math.inf, math.nan), (-1.0, -math.inf), (2.0, -1.0),
                     (0.5, -2.0), (1.5, -3.0)):
        t = storage.new_trial("nan", {"x": 0.0, "k": "a"}, None)
        storage.finish_trial("nan", replace(t, state=TrialState.COMPLETE, value=value, constraints={"c": c},
                                            datetime_complete=t.datetime_start))
    with Dashboard(url, port=0, model_interval=0.0, importance="permutation") as d:
        s = get_json(d, "/api/study?name=nan")
        m = get_json(d, "/api/model?name=nan")
        studies = get_json(d, "/api/studies")
    assert [r["value"] for r in s["history"]] == ["nan", "inf", -1.0, 2.0, 0.5, 1.5]
    # A non-finite constraint value (NaN, and -inf too) is a violation (fail closed), as in Study.best.
    assert [p[2] for p in s["constraint_values"]["c"]["points"]] == [True, False, False, True, True, True]
    assert s["best"]["number"] == 4  # trial 0 is feasible but its NaN value never counts as best
    assert studies["studies"][0]["best_value"] == 0.5
    assert m["recommendation"].get("number") in (None, 3, 4, 5)
    assert "2 trial(s) with a non-finite value left out" in m["importance"].get("note", m["importance"].get("reason"))
    json.dumps(m, allow_nan=False)

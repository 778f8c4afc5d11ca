"""The ``guardopt`` command as a user meets it: --version, "did you mean", usage on a bad flag, a missing
store, and ``study show / list / export / delete / plot`` on a stored study."""

from __future__ import annotations

import csv
import io
import json

import pytest

import guardopt as go
from guardopt.cli.main import main


def _store(tmp_path) -> str:
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = go.Study(go.Space({"x": go.Real(0.0, 1.0), "k": go.Choice(["a", "b"])}), name="demo",
                     constraints={"latency": ("<=", 0.5)}, storage=url)
    for params, result in [({"x": 0.2, "k": "a"}, {"value": 3.0, "latency": 0.1}),
                           ({"x": 0.9, "k": "b"}, {"value": 1.0, "latency": 0.9}),   # best value, infeasible
                           ({"x": 0.4, "k": "a"}, {"value": 2.0, "latency": 0.5}),   # best feasible
                           ({"x": 0.6, "k": "b"}, RuntimeError("diverged"))]:
        study.add_trial(params, result)
    return url


def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"guardopt {go.__version__}"


def test_did_you_mean_for_a_subcommand_and_a_reproduction(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reprodce", "safety-test"])
    assert exc.value.code == 2
    assert "Did you mean 'reproduce'?" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["study", "shwo", "demo", "--storage", "sqlite:///x.db"])
    assert "Did you mean 'show'?" in capsys.readouterr().err
    assert main(["reproduce", "safty-test", "--store", str(tmp_path / "r.db")]) == 2
    # the console wraps long lines to the terminal's width; the words are what matter
    assert "Did you mean 'safety-test'?" in " ".join(capsys.readouterr().err.split())


def test_a_bad_flag_shows_the_subcommands_usage(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["study", "show", "demo", "--storage", "sqlite:///x.db", "--lsat", "3"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: guardopt study show")
    assert "unrecognized arguments: --lsat 3" in err and "Did you mean '--last'?" in err
    with pytest.raises(SystemExit):
        main(["reproduce", "safety-test", "--quik"])
    err = capsys.readouterr().err
    assert err.startswith("usage: guardopt reproduce") and "Did you mean '--quick'?" in err


def test_an_option_named_like_a_command_points_at_the_command(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "--list"])
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: guardopt reproduce")
    assert "'list' is a command: run 'guardopt list'." in err and "Did you mean" not in err
    with pytest.raises(SystemExit):
        main(["study", "show", "demo", "--storage", "sqlite:///x.db", "--report"])
    assert "'report' is a command: run 'guardopt report'." in capsys.readouterr().err


def test_report_on_a_missing_store_is_an_error(tmp_path, capsys):
    code = main(["report", "--store", str(tmp_path / "missing.db"), "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 1
    assert "no result store at --store" in err and "missing.db" in err and "Traceback" not in err


def test_study_show_has_best_and_feasible_columns(tmp_path, capsys):
    url = _store(tmp_path)
    assert main(["study", "show", "demo", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "feasible" in out and "best" in out and "4 trials (3 complete, 1 failed)" in out
    rows = [ln for ln in out.splitlines() if ln.startswith("│")]
    assert "2 ★" in rows[2] and "yes" in rows[2]          # the best feasible trial is starred
    assert " no " in rows[1] and "3" in rows[1]           # infeasible; best so far still 3
    assert "Best feasible trial: #2, value 2" in out
    assert main(["study", "show", "demo", "--storage", url, "--last", "1"]) == 0
    assert "diverged" in capsys.readouterr().out
    assert main(["study", "show", "dem", "--storage", url]) == 2
    assert "Did you mean 'demo'?" in capsys.readouterr().err


def test_study_list(tmp_path, capsys):
    url = _store(tmp_path)
    assert main(["study", "list", "--storage", url]) == 0
    row = next(ln for ln in capsys.readouterr().out.splitlines() if "demo" in ln)
    assert row.split("│")[3:7] == ["      4 ", "        3 ", "        2 ", "    2 "]


def test_study_export_csv_and_json(tmp_path, capsys):
    url = _store(tmp_path)
    assert main(["study", "export", "demo", "--storage", url]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [r["state"] for r in rows] == ["COMPLETE", "COMPLETE", "COMPLETE", "FAILED"]
    assert [r["feasible"] for r in rows] == ["True", "False", "True", "False"]
    assert rows[1]["params_x"] == "0.9" and rows[1]["constraints_latency"] == "0.9" and rows[3]["value"] == ""
    out = tmp_path / "export" / "demo.json"
    assert main(["study", "export", "demo", "--storage", url, "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["name"] == "demo" and doc["best_feasible_trial"] == 2 and len(doc["trials"]) == 4
    assert doc["problem"]["constraints"] == {"latency": ["<=", 0.5]}
    assert doc["trials"][3]["failure_reason"].endswith("diverged")


def test_study_delete(tmp_path, capsys, monkeypatch):
    url = _store(tmp_path)
    monkeypatch.setattr("sys.stdin", io.StringIO(""))  # not a terminal: --yes is required
    assert main(["study", "delete", "demo", "--storage", url]) == 2
    assert "needs --yes" in capsys.readouterr().err
    assert main(["study", "delete", "demo", "--storage", url, "--yes"]) == 0
    assert "Deleted study demo (4 trials)" in capsys.readouterr().out
    assert go.core.make_storage(url).study_names() == []
    assert main(["study", "delete", "demo", "--storage", url, "--yes"]) == 2


def test_study_plot_writes_every_applicable_plot(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = go.Study(go.Space({"x": go.Real(0.0, 1.0), "y": go.Real(1e-3, 1.0, log=True)}), name="demo",
                     constraints={"c": ("<=", 0.7)}, optimizer=go.RandomSearch(seed=0), storage=url)
    study.optimize(lambda p: {"value": (p["x"] - 0.3) ** 2 + p["y"], "c": p["x"]}, n_trials=12)
    out = tmp_path / "plots"
    assert main(["study", "plot", "demo", "--storage", url, "--out", str(out), "--dpi", "40",
                 "--importance", "permutation"]) == 0
    text = capsys.readouterr().out
    names = ["history", "importance", "slice", "contour", "parallel_coordinates", "constraints"]
    assert sorted(p.stem for p in out.glob("*.png")) == sorted(names)
    assert sorted(p.stem for p in out.glob("*.csv")) == sorted(names)
    assert "skipped pareto_front" in text and "single objective" in text


def _tables(path) -> set[str]:  # type: ignore[no-untyped-def]
    import sqlite3

    conn = sqlite3.connect(path)
    try:
        return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    finally:
        conn.close()


def test_reading_commands_write_nothing(tmp_path, capsys):
    import hashlib
    import sqlite3

    url = _store(tmp_path)
    path = tmp_path / "studies.db"
    # A checkpointed file: what a reader could change shows up as a different digest.
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    assert main(["study", "list", "--storage", url]) == 0
    assert main(["study", "show", "demo", "--storage", url]) == 0
    assert main(["study", "export", "demo", "--storage", url, "--format", "json"]) == 0
    capsys.readouterr()
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    # A SQLite file of another program gets no guardopt tables from a look at it.
    other = tmp_path / "other.db"
    conn = sqlite3.connect(other)
    conn.execute("CREATE TABLE foo (a)")
    conn.commit()
    conn.close()
    assert main(["study", "list", "--storage", f"sqlite:///{other}"]) == 1
    assert "not a guardopt storage" in " ".join(capsys.readouterr().err.split())
    assert _tables(other) == {"foo"}


def test_a_result_store_and_a_study_storage_are_told_apart(tmp_path, capsys):
    from guardopt.core.errors import StorageError
    from guardopt.reproduce.store import ResultStore

    results = tmp_path / "results.db"
    ResultStore(results).close()
    assert main(["study", "list", "--storage", f"sqlite:///{results}"]) == 1
    assert "is a result store of `guardopt reproduce`" in " ".join(capsys.readouterr().err.split())
    with pytest.raises(StorageError, match="result store"):
        go.Study(go.Space({"x": go.Real(0, 1)}), name="s", storage=f"sqlite:///{results}")
    assert _tables(results) == {"meta", "cells"}
    url = _store(tmp_path)
    with pytest.raises(StorageError, match="is a study storage"):
        ResultStore(tmp_path / "studies.db")
    assert "cells" not in _tables(tmp_path / "studies.db")
    assert main(["report", "--store", str(tmp_path / "studies.db"), "--out", str(tmp_path / "rep")]) != 0
    assert "is a study storage" in " ".join(capsys.readouterr().err.split())
    assert main(["study", "list", "--storage", url]) == 0

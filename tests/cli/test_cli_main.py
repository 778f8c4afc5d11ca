"""Smoke tests of the ``guardopt`` command: help, list, reproduce, report, study, exit codes."""

from __future__ import annotations

import dataclasses
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from guardopt.cli.main import main
from guardopt.reproduce.papers import safety_test as st
from guardopt.reproduce.registry import Registry, from_reproductions
from guardopt.reproduce.spec import Scale

COMMANDS = [["list"], ["reproduce"], ["report"], ["study"], ["study", "show"], ["study", "list"], []]


@pytest.mark.parametrize("argv", COMMANDS)
def test_help_of_every_command(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        main([*argv, "--help"])
    assert exc.value.code == 0
    assert "usage: guardopt" in capsys.readouterr().out


def test_help_does_not_import_heavy_modules():
    code = ("import sys; from guardopt.cli.main import main\n"
            "try:\n    main(['reproduce', '--help'])\nexcept SystemExit:\n    pass\n"
            "bad = [m for m in ('torch', 'matplotlib', 'rich', 'scipy') if m in sys.modules]\n"
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def _tiny_registry() -> Registry:
    # The real safety-test reproduction with fewer pools so the smoke test stays fast.
    tiny = dataclasses.replace(st.REPRODUCTION, scales={"quick": Scale(1, {"pools": 40}),
                                                          "full": Scale(1, {"pools": 40})})
    return from_reproductions([tiny])


@pytest.fixture
def tiny(monkeypatch):
    monkeypatch.setattr("guardopt.cli.reproduce_cmd.discover", _tiny_registry)
    monkeypatch.setattr("guardopt.cli.report_cmd.discover", _tiny_registry)


def test_list(capsys):
    code = main(["list"])
    out = capsys.readouterr().out
    assert "safety-test" in out and "Problems" in out
    assert code in (0, 1)  # 1 only when some module of another area fails to import


def test_reproduce_twice_then_report(tmp_path, tiny, capsys):
    store = str(tmp_path / "r.db")
    assert main(["reproduce", "safety-test", "--quick", "--store", store, "--no-progress"]) == 0
    first = capsys.readouterr().out
    assert "Verdicts" in first and "safety-test" in first and "evidence" in first
    assert main(["reproduce", "safety-test", "--quick", "--store", store]) == 0
    second = capsys.readouterr().out
    assert "Everything is already stored" in second and "nothing to run" in second
    out = tmp_path / "rep"
    assert main(["report", "--store", store, "--out", str(out)]) == 0
    assert (out / "index.md").exists() and (out / "safety-test.md").exists()
    assert list((out / "figures" / "safety-test").glob("*.png"))


def test_usage_errors_exit_2(tmp_path, tiny, capsys):
    store = str(tmp_path / "r.db")
    assert main(["reproduce", "no-such-paper", "--store", store]) == 2
    assert "Valid names: safety-test" in capsys.readouterr().err
    assert main(["reproduce", "--store", store]) == 2
    assert main(["report", "nope", "--store", store, "--out", str(tmp_path / "o")]) == 2
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "safety-test", "--workers", "0"])
    assert exc.value.code == 2
    with pytest.raises(SystemExit) as exc:
        main(["reproduce", "safety-test", "--executor", "mpi"])
    assert exc.value.code == 2


def test_study_show(tmp_path, capsys):
    from guardopt.core.space import Real, Space
    from guardopt.core.study import Study

    url = f"sqlite:///{tmp_path / 'studies.db'}"
    study = Study(Space({"x": Real(0.0, 1.0)}), name="demo", storage=url)
    trial = study.ask()
    study.tell(trial, 1.25)
    assert main(["study", "show", "demo", "--storage", url]) == 0
    out = capsys.readouterr().out
    assert "demo" in out and "1.25" in out
    assert main(["study", "list", "--storage", url]) == 0
    assert "demo" in capsys.readouterr().out
    assert main(["study", "show", "other", "--storage", url]) == 2
    assert main(["study", "show", "demo", "--storage", f"sqlite:///{tmp_path / 'none.db'}"]) == 2


@pytest.mark.slow
def test_console_script_quick_safety_test_twice(tmp_path):
    exe = Path(sys.executable).with_name("guardopt")
    env = dict(os.environ, OMP_NUM_THREADS="1")
    store = str(tmp_path / "r.db")
    first = subprocess.run([str(exe), "reproduce", "safety-test", "--quick", "--store", store],
                           capture_output=True, text=True, env=env, check=True)
    assert re.search(r"safety-test\W+(HOLDS|FAILS|INCONCLUSIVE)", first.stdout), first.stdout
    second = subprocess.run([str(exe), "reproduce", "safety-test", "--quick", "--store", store],
                            capture_output=True, text=True, env=env, check=True)
    assert "Everything is already stored" in second.stdout

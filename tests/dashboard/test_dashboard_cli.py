"""``guardopt dashboard``: serves a storage until stopped; bad storages and options are refused."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from guardopt.cli.main import main

SRC = str(Path(__file__).resolve().parents[2] / "src")


# Runs the CLI with Ctrl-C's usual handler whatever the suite inherited: a shell's background job
# (`make test &`) ignores SIGINT, and a Python started with SIGINT ignored never raises KeyboardInterrupt.
RUN_CLI = ("import runpy, signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
           "sys.argv[0] = 'guardopt'; runpy.run_module('guardopt.cli.main', run_name='__main__')")


def test_the_command_serves_the_storage_until_interrupted(db: str, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    # -X faulthandler: if it hangs, SIGABRT makes it print every thread's stack (read below).
    command = [sys.executable, "-X", "faulthandler", "-c", RUN_CLI, "dashboard", "--storage", db,
               "--port", "0", "--reports", str(tmp_path)]
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    try:
        assert proc.stdout is not None
        line = ""
        deadline = time.monotonic() + 60
        while "http://" not in line and time.monotonic() < deadline:
            line += proc.stdout.readline()
        url = re.search(r"http://\S+/", line)
        assert url, line + (proc.stderr.read() if proc.poll() is not None and proc.stderr else "")
        with urllib.request.urlopen(url.group(0) + "api/studies", timeout=30) as r:
            names = {s["name"] for s in json.loads(r.read())["studies"]}
        assert "demo" in names
    finally:
        proc.send_signal(signal.SIGINT)
        # communicate, not wait: it drains both pipes, so a child that writes while stopping cannot
        # block on a full pipe; on a timeout the child's output says where it hung.
        try:
            _, err = proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            out, err = proc.communicate()
            pytest.fail(f"the dashboard did not stop within 60 s of Ctrl-C; stdout: {out[-2000:]!r}; "
                        f"stderr: {err[-2000:]!r}")
        assert proc.returncode == 0, err


def test_a_missing_storage_or_bad_options_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dashboard", "--storage", f"sqlite:///{tmp_path / 'none.db'}", "--port", "0"]) == 1
    assert "never creates" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()
    assert main(["dashboard", "--storage", "ftp://x/y", "--port", "0"]) == 2
    for bad in (["--port", "70000"], ["--refresh", "0"], ["--importance", "fanovaa"]):
        try:
            main(["dashboard", "--storage", "sqlite:///x.db", *bad])
        except SystemExit as exc:
            assert exc.code == 2
        else:
            raise AssertionError(f"{bad} was accepted")

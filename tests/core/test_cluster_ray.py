"""Ray by address: a head node started by the test (``ray start --head --block``), reached by address."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import guardopt as go

pytestmark = pytest.mark.slow
ray = pytest.importorskip("ray", reason="Ray is not installed (guardopt[ray])")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    exe = shutil.which("ray", path=str(Path(sys.executable).parent)) or shutil.which("ray")
    if exe is None:
        pytest.skip("the `ray` command is not installed")
    port = _free_port()
    # Token authentication off for this throwaway node on 127.0.0.1 (a real cluster keeps it on and
    # gives its drivers the token; see docs/scaling.md).
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled",
           "PYTHONPATH": os.pathsep.join([str(Path(go.__file__).parents[1]), os.environ.get("PYTHONPATH", "")])}
    log = tmp_path_factory.mktemp("ray") / "head.log"
    # --block: the launcher stays in the foreground and stops the node's processes when terminated;
    # its own session lets teardown signal exactly the processes this test started.
    with open(log, "w") as out:
        proc = subprocess.Popen([exe, "start", "--head", "--block", f"--port={port}", "--num-cpus=2",
                                 "--include-dashboard=false", "--node-ip-address=127.0.0.1"],
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while "Ray runtime started" not in log.read_text():
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"ray start failed:\n{log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield address
    finally:
        # The launcher stops the node's processes on SIGTERM; what is left of its session after
        # that is killed by process group (only processes this test started are in it).
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)
        # A node that did not stop cleanly leaves its address in Ray's "current cluster" file, and a
        # later ray.init() without address would try to join the dead node: remove it if it is ours.
        current = Path(tempfile.gettempdir()) / "ray" / "ray_current_cluster"
        if current.exists() and current.read_text().strip().endswith(f":{port}"):
            current.unlink()


def test_study_optimize_on_a_ray_cluster_by_address(head: str, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    here = os.getpid()

    def objective(p: dict[str, Any]) -> go.Observation:
        return go.Observation((p["x"] - 1) ** 2, user_attrs={"pid": os.getpid()})

    study = go.Study(go.Space({"x": go.Real(-5, 5)}), name="r", optimizer=go.RandomSearch(seed=0),
                     storage=f"sqlite:///{tmp_path / 'r.db'}")
    study.optimize(objective, n_trials=6, n_jobs=2, executor="ray", address=head)
    assert not ray.is_initialized()  # disconnected; the cluster itself keeps running
    trials = study.trials
    assert [t.state for t in trials] == [go.TrialState.COMPLETE] * 6
    assert here not in {t.user_attrs["pid"] for t in trials}

"""Dask by address: a multi-process LocalCluster started by the test, reached only through its address."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import guardopt as go
from guardopt.core.errors import InvalidParameterError
from guardopt.core.executors import DaskExecutor, cluster_connection, make_executor

distributed = pytest.importorskip("distributed", reason="Dask distributed is not installed (guardopt[dask])")


@pytest.fixture(scope="module")
def scheduler() -> Any:
    # Worker processes, not threads of this process: a task that runs here would prove nothing.
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  silence_logs=40) as cluster:
        yield cluster.scheduler_address


def _objective(p: dict[str, Any]) -> go.Observation:
    return go.Observation((p["x"] - 1) ** 2, user_attrs={"pid": os.getpid()})


def test_study_optimize_runs_on_the_cluster_by_address(scheduler: str, tmp_path: Path) -> None:
    study = go.Study(go.Space({"x": go.Real(-5, 5)}), name="d", optimizer=go.RandomSearch(seed=0),
                     storage=f"sqlite:///{tmp_path / 'd.db'}")
    study.optimize(_objective, n_trials=8, n_jobs=2, executor="dask", address=scheduler)
    trials = study.trials
    assert [t.number for t in trials] == list(range(8))
    assert all(t.state is go.TrialState.COMPLETE for t in trials)
    pids = {t.user_attrs["pid"] for t in trials}
    assert os.getpid() not in pids and len(pids) >= 1
    # The cluster outlives the study: our executor only disconnected from it.
    with distributed.Client(scheduler) as client:
        assert len(client.scheduler_info()["workers"]) == 2


def test_connection_is_reused_by_executors_built_without_address(scheduler: str) -> None:
    # What `guardopt reproduce --executor dask --address ...` relies on: the runner builds its own executor.
    with cluster_connection("dask", scheduler):
        pool = make_executor("dask", 2)
        assert isinstance(pool, DaskExecutor) and pool._cluster is None
        assert pool._client.scheduler.address == scheduler
        assert pool.submit(os.getpid).result(timeout=60) != os.getpid()
        pool.shutdown()


def test_address_is_validated() -> None:
    with pytest.raises(InvalidParameterError, match="address"):
        make_executor("process", 1, address="tcp://127.0.0.1:1")
    with pytest.raises(InvalidParameterError, match="address"):
        make_executor("dask", 1, address="")
    study = go.Study(go.Space({"x": go.Real(0, 1)}))
    with pytest.raises(InvalidParameterError, match="address"):
        study.optimize(lambda p: p["x"], n_trials=1, executor="thread", address="auto")
    with pytest.raises(InvalidParameterError, match="executor"):
        with cluster_connection("thread", "x"):
            pass


def test_reproduce_connects_to_the_cluster_given_by_address(scheduler: str) -> None:
    # `guardopt reproduce --executor dask --address ...`: the runner's executors join that cluster.
    from guardopt.cli.reproduce_cmd import _connected

    with _connected("dask", scheduler):
        pool = make_executor("dask", 2)
        assert pool._client.scheduler.address == scheduler  # type: ignore[attr-defined]
        pool.shutdown()
    with _connected("process", None):  # no address: nothing to connect
        pass


@pytest.mark.parametrize("address", [3, b"tcp://x", "  ", ["auto"]])
def test_address_contract(address: Any) -> None:
    from guardopt.testing.contracts import assert_contract

    out = assert_contract(make_executor, "dask", 1, address=address, names=["address"])
    assert out.error is not None

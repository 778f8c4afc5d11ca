"""Executors behind one interface: local processes and threads, and (when installed) Ray and Dask."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Mapping
from typing import Any

import cloudpickle
import pytest

import guardopt as go
from guardopt.core import InvalidParameterError, TrialState, make_executor


def square_plus(p: Mapping[str, Any]) -> float:
    return float(p["x"] ** 2 + 1)


def pid_of_worker(p: Mapping[str, Any]) -> dict[str, Any]:
    return {"value": float(os.getpid()), "omp": os.environ.get("OMP_NUM_THREADS")}


def _run(executor: Any, n_jobs: int = 2, n_trials: int = 6) -> go.Study:
    study = go.Study(go.Space({"x": go.Real(-1, 1)}), optimizer=go.RandomSearch(seed=0))
    study.optimize(square_plus, n_trials=n_trials, n_jobs=n_jobs, executor=executor)
    return study


def _check(study: go.Study, n_trials: int = 6) -> None:
    trials = study.trials
    assert [t.number for t in trials] == list(range(n_trials))
    assert all(t.state is TrialState.COMPLETE and t.value == pytest.approx(square_plus(t.params)) for t in trials)


@pytest.mark.parametrize("kind", ["process", "thread"])
def test_local_executors(kind: str) -> None:
    with make_executor(kind, workers=2) as pool:
        assert pool.submit(lambda a, b: a + b, 2, 3).result() == 5  # lambdas travel with cloudpickle
    _check(_run(kind))


def test_process_workers_run_elsewhere_with_one_thread() -> None:
    with make_executor("process", workers=1) as pool:
        pid = pool.submit(os.getpid).result()
        omp = pool.submit(os.environ.get, "OMP_NUM_THREADS").result()
    assert pid != os.getpid() and omp == "1"


def test_a_user_executor_is_not_shut_down() -> None:
    with make_executor("thread", workers=2) as pool:
        _check(_run(pool))
        assert pool.submit(int, "7").result() == 7


def test_executor_argument_errors() -> None:
    with pytest.raises(InvalidParameterError, match=r"'workers' parameter of make_executor must be a positive"):
        make_executor("thread", workers=0)
    with pytest.raises(go.UnsupportedError, match="positional arguments only"):
        make_executor("process", workers=1).submit(print, sep="")


@pytest.mark.skipif(importlib.util.find_spec("distributed") is None, reason="dask[distributed] is not installed")
def test_dask_local_cluster() -> None:
    _check(_run("dask", n_jobs=1, n_trials=4), n_trials=4)


@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="ray is not installed")
def test_ray_local_instance() -> None:
    import ray

    try:
        pool = make_executor("ray", workers=1)  # ray.init(num_cpus=1): start-up is slow on 2 cores
    except Exception as exc:  # pragma: no cover - depends on the sandbox
        pytest.skip(f"a local Ray instance could not start here: {type(exc).__name__}: {exc}")
    # Ray workers cannot import this test module: ship its functions by value, as for a script's.
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        study = go.Study(go.Space({"x": go.Real(-1, 1)}), optimizer=go.RandomSearch(seed=0))
        study.optimize(square_plus, n_trials=4, n_jobs=1, executor=pool)
        _check(study, n_trials=4)
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
        pool.shutdown()
    assert not ray.is_initialized()

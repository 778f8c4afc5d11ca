"""One small interface over where work runs: local processes (default), threads, Ray or Dask.

Every executor is a `concurrent.futures.Executor` (``submit(fn, *args) -> Future``) used as a context
manager. Ray and Dask are imported only when asked for (extras ``guardopt[ray]``, ``guardopt[dask]``).
Callables are shipped with cloudpickle so that lambdas and closures work everywhere.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from typing import Any, Literal

from guardopt.core.errors import InvalidParameterError, UnsupportedError

ExecutorKind = Literal["process", "thread", "ray", "dask"]
KINDS = ("process", "thread", "ray", "dask")


def _single_thread_worker() -> None:
    # Small numeric kernels run many times slower with two BLAS/torch threads on 2-core machines.
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")


def _run_pickled(payload: bytes, *args: Any) -> Any:
    import cloudpickle

    fn = cloudpickle.loads(payload)
    return fn(*args)


class PickledCallExecutor(Executor):
    """Wraps an executor so that submitted callables travel with cloudpickle."""

    def __init__(self, inner: Executor) -> None:
        self._inner = inner

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        import cloudpickle

        if kwargs:
            raise UnsupportedError("Executors here take positional arguments only.")
        return self._inner.submit(_run_pickled, cloudpickle.dumps(fn), *args)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait, cancel_futures=cancel_futures)


class RayExecutor(Executor):
    """Runs tasks on Ray (a local instance is started when none is running)."""

    def __init__(self, workers: int) -> None:
        import ray

        if not ray.is_initialized():
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True, configure_logging=False)
            self._owns = True
        else:
            self._owns = False
        self._ray = ray
        self._remote = ray.remote(_run_pickled)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        import cloudpickle

        if kwargs:
            raise UnsupportedError("Executors here take positional arguments only.")
        ref = self._remote.remote(cloudpickle.dumps(fn), *args)
        fut: Future[Any] = ref.future()
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._owns:
            self._ray.shutdown()


class DaskExecutor(Executor):
    """Runs tasks on a Dask cluster (a `LocalCluster` of processes when no address is given)."""

    def __init__(self, workers: int, address: str | None = None) -> None:
        from distributed import Client, LocalCluster

        self._cluster = None
        if address is None:
            self._cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                         dashboard_address=None)
            self._client = Client(self._cluster)
        else:
            self._client = Client(address)
        # pure=False: Dask would otherwise run two evaluations of the same parameters once and share
        # the result, which is wrong for a noisy objective.
        self._inner = self._client.get_executor(pure=False)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        import cloudpickle

        if kwargs:
            raise UnsupportedError("Executors here take positional arguments only.")
        fut: Future[Any] = self._inner.submit(_run_pickled, cloudpickle.dumps(fn), *args)
        return fut

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(kind: str = "process", workers: int | None = None, address: str | None = None) -> Executor:
    """Build an executor.

    Args:
        kind: ``"process"`` (local processes, default), ``"thread"``, ``"ray"`` or ``"dask"``.
        workers: Number of parallel workers (default: CPU count).
        address: For Dask, the scheduler address of an existing cluster.

    Returns:
        A `concurrent.futures.Executor`; use it as a context manager.
    """
    if kind not in KINDS:
        raise InvalidParameterError("executor", "make_executor", f"one of {KINDS}", kind)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidParameterError("workers", "make_executor", "a positive integer or None", workers)
    n = workers or os.cpu_count() or 1
    if kind == "process":
        # fork on Linux, whatever the Python version's default: workers start in milliseconds and a
        # script without an ``if __name__ == "__main__"`` guard is not re-run in every worker.
        ctx = mp.get_context("fork") if sys.platform.startswith("linux") else None
        return PickledCallExecutor(ProcessPoolExecutor(max_workers=n, mp_context=ctx,
                                                       initializer=_single_thread_worker))
    if kind == "thread":
        return ThreadPoolExecutor(max_workers=n)
    if kind == "ray":
        return RayExecutor(n)
    return DaskExecutor(n, address)

"""One small interface over where work runs: local processes (default), threads, Ray or Dask.

Every executor is a `concurrent.futures.Executor` (``submit(fn, *args) -> Future``) used as a context
manager. Ray and Dask are imported only when asked for (extras ``guardopt[ray]``, ``guardopt[dask]``).
Callables are shipped with cloudpickle so that lambdas and closures work everywhere.
"""

from __future__ import annotations

import multiprocessing as mp
import os
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
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
    """Runs tasks on Ray: an existing cluster by ``address``, else a running instance, else a local one.

    Args:
        workers: CPUs of the local instance started when neither an address nor a running one is given.
        address: ``"auto"`` (the cluster this host belongs to, started by ``ray start``), a Ray
            Client address ``"ray://host:10001"``, or a GCS address ``"host:6379"``.
    """

    def __init__(self, workers: int, address: str | None = None) -> None:
        import ray

        self._owns = False
        if address is not None:
            if ray.is_initialized():
                raise UnsupportedError("Ray is already initialized in this process; call ray.shutdown() before "
                                       f"connecting to address={address!r}, or pass no address to reuse it.")
            # The cluster's workers must import guardopt themselves; the driver ships only the calls.
            ray.init(address=address, log_to_driver=False, configure_logging=False)
            self._owns = True
        elif not ray.is_initialized():
            ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False,
                     ignore_reinit_error=True, configure_logging=False)
            self._owns = True
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
    """Runs tasks on a Dask cluster: the scheduler at ``address`` (``"tcp://host:8786"``), else the
    client already connected in this process, else a new `LocalCluster` of processes."""

    def __init__(self, workers: int, address: str | None = None) -> None:
        from distributed import Client, LocalCluster

        self._cluster = None
        self._owns_client = True
        current = None
        if address is None:
            try:
                from distributed import default_client

                current = default_client()
            except ValueError:  # no client in this process
                current = None
        if current is not None:
            self._client = current
            self._owns_client = False
        elif address is None:
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
        if self._owns_client:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()


def make_executor(kind: str = "process", workers: int | None = None, address: str | None = None) -> Executor:
    """Build an executor.

    Args:
        kind: ``"process"`` (local processes, default), ``"thread"``, ``"ray"`` or ``"dask"``.
        workers: Number of parallel workers (default: CPU count).
        address: An existing cluster to run on: for Ray ``"auto"`` or ``"ray://host:10001"``, for
            Dask the scheduler address ``"tcp://host:8786"``. Not accepted by ``"process"`` and
            ``"thread"``.

    Returns:
        A `concurrent.futures.Executor`; use it as a context manager.
    """
    if kind not in KINDS:
        raise InvalidParameterError("executor", "make_executor", f"one of {KINDS}", kind)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidParameterError("workers", "make_executor", "a positive integer or None", workers)
    if address is not None:
        if not isinstance(address, str) or not address.strip():
            raise InvalidParameterError("address", "make_executor", "None or a non-empty cluster address", address)
        if kind not in ("ray", "dask"):
            raise InvalidParameterError("address", "make_executor", "None for the 'process' and 'thread' "
                                        "executors (a cluster address needs 'ray' or 'dask')", address)
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
        return RayExecutor(n, address)
    return DaskExecutor(n, address)


@contextmanager
def cluster_connection(kind: str, address: str) -> Iterator[None]:
    """Connect this process to an existing Ray or Dask cluster for the duration of a block.

    Inside the block, ``make_executor("ray")`` / ``make_executor("dask")`` without an address run on
    that cluster (Ray reuses the initialized connection; Dask the current client), which lets code
    that builds its executors itself (the reproduction runner) use a cluster unchanged.

    Raises:
        InvalidParameterError: ``kind`` is not ``"ray"`` or ``"dask"``, or ``address`` is empty.
    """
    if kind not in ("ray", "dask"):
        raise InvalidParameterError("executor", "cluster_connection", "'ray' or 'dask' (a cluster address needs "
                                    "one of them)", kind)
    if not isinstance(address, str) or not address.strip():
        raise InvalidParameterError("address", "cluster_connection", "a non-empty cluster address", address)
    if kind == "ray":
        import ray

        ray.init(address=address, log_to_driver=False, configure_logging=False)
        try:
            yield
        finally:
            ray.shutdown()
        return
    from distributed import Client

    client = Client(address)
    try:
        yield
    finally:
        client.close()

"""Run reproductions' grids, storing every cell the moment it finishes, so a rerun resumes.

`run` expands each reproduction's ``tasks x methods x seeds`` into `Cell`s, drops the ones already
stored as done (same key and same settings), and runs the rest: in this process when
``workers == 1`` with the process executor, otherwise through `guardopt.core.executors.make_executor`
(local processes, Ray or Dask). A cell that raises is stored as failed with its traceback and does
not stop the others; a rerun retries it. After the run the verdict of each reproduction is computed
from the stored rows (never from what is in memory), so a resumed run gives the same verdict as an
uninterrupted one.
"""

from __future__ import annotations

import functools
import importlib.metadata
import math
import os
import platform
import socket
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, Future, as_completed
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from guardopt.core.errors import InvalidParameterError
from guardopt.reproduce.spec import Cell, CellResult, Reproduction, Results, Verdict
from guardopt.reproduce.store import ResultStore, StoredCell, settings_json

DEFAULT_STORE = Path(".guardopt") / "results.db"
EXECUTORS = ("process", "ray", "dask")
_VERSIONED = ("guardopt", "numpy", "scipy", "scikit-learn", "matplotlib", "torch")
_THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


# -- what runs in the worker ------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """What a worker sends back for one cell (picklable, plain types only)."""

    status: str  # "done" or "failed"
    metrics: dict[str, float]
    curves: dict[str, list[float]]
    wall_time: float
    error: str | None
    environment: dict[str, Any]
    finished_at: str


@functools.lru_cache(maxsize=1)
def environment() -> dict[str, Any]:
    """Versions of guardopt and its main dependencies, hostname, CPU count, Python and platform."""
    versions: dict[str, str | None] = {}
    for pkg in _VERSIONED:
        try:
            versions[pkg] = importlib.metadata.version(pkg)
        except importlib.metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "versions": versions,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "hostname": socket.gethostname(),
        "cpu_count": os.cpu_count(),
    }


def limit_threads() -> None:
    """One BLAS / OpenMP / torch thread in this process (small kernels run faster that way here).

    torch is not imported for this: when it is not loaded yet, the environment variables make it
    start with one thread; when a previous cell loaded it, its thread count is set directly.
    """
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    torch = sys.modules.get("torch")
    if torch is not None and torch.get_num_threads() != 1:
        torch.set_num_threads(1)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _check_result(result: Any) -> tuple[dict[str, float], dict[str, list[float]]]:
    if not isinstance(result, CellResult):
        raise TypeError(f"run_cell must return a CellResult, got {type(result).__name__}")
    metrics = {str(k): float(v) for k, v in result.metrics.items()}
    curves = {str(k): [float(x) for x in v] for k, v in result.curves.items()}
    return metrics, curves


def execute_cell(run_cell: Callable[[Cell], CellResult], cell: Cell) -> Outcome:
    """Run one cell and turn whatever happens (a result or an exception) into an `Outcome`.

    Only `Exception` is caught: KeyboardInterrupt and SystemExit stop the run, they are not cell
    failures.
    """
    limit_threads()
    start = time.perf_counter()
    try:
        metrics, curves = _check_result(run_cell(cell))
        status, error = "done", None
    except Exception:
        metrics, curves = {}, {}
        status, error = "failed", traceback.format_exc()
    wall = time.perf_counter() - start
    return Outcome(status, metrics, curves, wall, error, environment(), _now())


# -- executors -------------------------------------------------------------------------------


def make_executor(kind: str, workers: int) -> Executor:
    """The executor the runner uses (one switch point: guardopt's core factory)."""
    from guardopt.core.executors import make_executor as core_make_executor

    return core_make_executor(kind, workers)


# -- summaries -------------------------------------------------------------------------------


@dataclass
class ReproductionSummary:
    """What a run did for one reproduction, and the verdict computed from the store afterwards."""

    name: str
    scale: str
    total: int = 0
    skipped: int = 0
    stale: int = 0
    ran: int = 0
    failed_now: int = 0
    run_time: float = 0.0  # summed wall time of the cells run now
    stored_time: float = 0.0  # summed wall time of every stored cell of the grid
    done: int = 0  # cells of the grid stored as done after the run
    failed: int = 0  # cells of the grid stored as failed after the run
    seeds: int = 0
    verdict: Verdict | None = None
    verdict_error: str | None = None
    failures: list[tuple[tuple[str, str, str, int, str], str]] = field(default_factory=list)


@dataclass
class RunSummary:
    """The whole run: one summary per reproduction, import errors, elapsed time."""

    scale: str
    store: Path
    reproductions: list[ReproductionSummary]
    import_errors: dict[str, str] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def cells_to_run(self) -> int:
        """Cells that were not stored as done before the run."""
        return sum(r.total - r.skipped for r in self.reproductions)

    @property
    def has_errors(self) -> bool:
        """A cell or a verdict raised, or a paper module did not import."""
        return bool(self.import_errors) or any(r.failed or r.verdict_error for r in self.reproductions)


# -- loading results -------------------------------------------------------------------------


def grid_pairs(reproduction: Reproduction, scale: str) -> list[tuple[str, str]]:
    """The (task, method) pairs of a reproduction's grid at a scale."""
    if reproduction.grid is not None:
        return [(t, m) for t, m in reproduction.grid(scale)]
    return [(t, m) for t in reproduction.tasks for m in reproduction.methods]


def current_rows(store: ResultStore, reproduction: Reproduction, scale: str) -> tuple[list[StoredCell], int]:
    """Stored rows that belong to the reproduction's current grid and settings at a scale.

    Returns:
        The rows, and the number of rows left out because their settings differ from the scale's
        current settings (stale rows from an earlier version of the reproduction).
    """
    pairs = set(grid_pairs(reproduction, scale))
    wanted = settings_json(reproduction.scales[scale].settings)
    rows, stale = [], 0
    for row in store.load(reproduction.name, scale):
        if (row.task, row.method) not in pairs:
            continue
        if row.settings_text != wanted:
            stale += 1
            continue
        rows.append(row)
    return rows, stale


def load_results(store: ResultStore, reproduction: Reproduction, scale: str) -> Results:
    """The stored rows of a reproduction at a scale as `Results` (what verdicts and plots get)."""
    rows, _ = current_rows(store, reproduction, scale)
    return Results([r.to_record() for r in rows], reproduction.tasks, reproduction.methods)


def compute_verdict(reproduction: Reproduction, results: Results) -> tuple[Verdict | None, str | None]:
    """The reproduction's verdict, or the traceback of the verdict function when it raised."""
    try:
        return reproduction.verdict(results), None
    except Exception:
        return None, traceback.format_exc()


# -- the run ---------------------------------------------------------------------------------

CellCallback = Callable[[Cell, Outcome], None]


def _validate(scale: str, workers: int, executor: str, seeds: int | None) -> None:
    if scale not in ("quick", "full"):
        raise InvalidParameterError("scale", "run", "one of ('quick', 'full')", scale)
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise InvalidParameterError("workers", "run", "a positive integer", workers)
    if executor not in EXECUTORS:
        raise InvalidParameterError("executor", "run", f"one of {EXECUTORS}", executor)
    if seeds is not None and (isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1):
        raise InvalidParameterError("seeds", "run", "a positive integer or None", seeds)


def plan(store: ResultStore, reproduction: Reproduction, scale: str, seeds: int | None = None,
         force: bool = False) -> tuple[list[Cell], ReproductionSummary]:
    """The cells still to run (not stored as done with the same settings) and a fresh summary."""
    cells = reproduction.cells(scale, seeds)
    summary = ReproductionSummary(reproduction.name, scale, total=len(cells))
    done = {} if force else store.done_settings(reproduction.name, scale)
    todo = []
    for cell in cells:
        stored = done.get(cell.key)
        if stored is None:
            todo.append(cell)
        elif stored != settings_json(cell.settings):
            summary.stale += 1
            todo.append(cell)
        else:
            summary.skipped += 1
    return todo, summary


def summarize(store: ResultStore, reproduction: Reproduction, summary: ReproductionSummary,
              seeds: int | None = None) -> None:
    """Fill in stored counts, stored wall time and the verdict from the store."""
    scale = summary.scale
    keys = {c.key for c in reproduction.cells(scale, seeds)}
    rows, _ = current_rows(store, reproduction, scale)
    in_grid = [r for r in rows if r.key in keys]
    summary.done = sum(r.status == "done" for r in in_grid)
    summary.failed = sum(r.status != "done" for r in in_grid)
    summary.stored_time = float(sum(r.wall_time for r in in_grid if not math.isnan(r.wall_time)))
    summary.seeds = len({r.seed for r in rows if r.status == "done"})
    summary.failures = [(r.key, _last_line(r.error)) for r in in_grid if r.status != "done"]
    results = Results([r.to_record() for r in rows], reproduction.tasks, reproduction.methods)
    summary.verdict, summary.verdict_error = compute_verdict(reproduction, results)


def _last_line(error: str | None) -> str:
    lines = [ln for ln in (error or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else "(no traceback stored)"


def _broken(exc: BaseException) -> Outcome:
    error = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    error += ("\nThe worker running this cell (or another cell of the same pool) died or could not "
              "run it; the cell may have crashed its process or run out of memory.")
    return Outcome("failed", {}, {}, math.nan, error, environment(), _now())


def run(
    reproductions: Sequence[Reproduction],
    *,
    scale: str = "quick",
    seeds: int | None = None,
    workers: int = 1,
    executor: str = "process",
    store: str | Path = DEFAULT_STORE,
    force: bool = False,
    import_errors: Mapping[str, str] | None = None,
    on_start: Callable[[int, Mapping[str, int]], None] | None = None,
    on_cell: CellCallback | None = None,
) -> RunSummary:
    """Run the grids of some reproductions at one scale, resuming from what the store holds.

    Args:
        reproductions: The reproductions to run (from `guardopt.reproduce.registry`, or built
            in a test or script).
        scale: ``"quick"`` or ``"full"``.
        seeds: Number of seeds, overriding each scale's own.
        workers: Parallel workers; 1 with the process executor runs the cells in this process.
        executor: ``"process"``, ``"ray"`` or ``"dask"``.
        store: SQLite file for the results (created when missing).
        force: Recompute cells even when stored as done.
        import_errors: Paper modules that failed to import, carried into the summary.
        on_start: Called once with the number of cells to run and that number per reproduction.
        on_cell: Called after each cell is stored, with the cell and its outcome.

    Returns:
        A `RunSummary`; its verdicts are computed from the store after the run.
    """
    _validate(scale, workers, executor, seeds)
    t0 = time.perf_counter()
    by_name = {r.name: r for r in reproductions}
    with ResultStore(store) as db:
        todo: list[tuple[Reproduction, Cell]] = []
        summaries: dict[str, ReproductionSummary] = {}
        broken: set[str] = set()
        for repro in reproductions:
            try:
                cells, summary = plan(db, repro, scale, seeds, force)
            except Exception:  # a broken grid must not stop the other reproductions
                summary = ReproductionSummary(repro.name, scale, verdict_error=traceback.format_exc())
                broken.add(repro.name)
                cells = []
            summaries[repro.name] = summary
            todo.extend((repro, c) for c in cells)

        def finish(cell: Cell, outcome: Outcome) -> None:
            db.put(cell, outcome.status, outcome.metrics, outcome.curves, outcome.wall_time, outcome.error,
                   outcome.environment, outcome.finished_at)
            s = summaries[cell.reproduction]
            s.ran += 1
            s.failed_now += outcome.status != "done"
            if not math.isnan(outcome.wall_time):
                s.run_time += outcome.wall_time
            if on_cell is not None:
                on_cell(cell, outcome)

        per_repro = {name: s.total - s.skipped for name, s in summaries.items()}
        if todo:
            if workers == 1 and executor == "process":
                if on_start is not None:
                    on_start(len(todo), per_repro)
                for repro, cell in todo:
                    finish(cell, execute_cell(repro.run_cell, cell))
            else:
                _run_pool(todo, executor, workers, finish, lambda: on_start(len(todo), per_repro)
                          if on_start is not None else None)
        elif on_start is not None:
            on_start(0, per_repro)

        for name, summary in summaries.items():
            if name not in broken:
                summarize(db, by_name[name], summary, seeds)
    return RunSummary(scale, Path(store), list(summaries.values()), dict(import_errors or {}),
                      time.perf_counter() - t0)


def _run_pool(todo: Iterable[tuple[Reproduction, Cell]], kind: str, workers: int,
              finish: Callable[[Cell, Outcome], None], started: Callable[[], None]) -> None:
    # Worker processes inherit the environment: one thread each from their first import on.
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    pool = make_executor(kind, workers)
    try:
        # Everything is submitted before any progress display starts its thread, so worker processes
        # are forked from a single-threaded parent.
        futures: dict[Future[Outcome], Cell] = {
            pool.submit(execute_cell, repro.run_cell, cell): cell for repro, cell in todo
        }
        started()
        for fut in as_completed(futures):
            cell = futures[fut]
            try:
                outcome = fut.result()
            except Exception as exc:  # the worker died or the executor failed; the cell is retried on rerun
                outcome = _broken(exc)
            finish(cell, outcome)
    except BaseException:
        # Ctrl-C: stop queued cells at once; what finished is already stored.
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)

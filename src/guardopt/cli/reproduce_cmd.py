"""``guardopt reproduce``: run reproductions' grids with a progress bar, then print their verdicts."""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table

from guardopt.cli._console import err, evidence_mark, fmt, last_line, out, verdict_text
from guardopt.core.errors import GuardoptError
from guardopt.reproduce.registry import Registry, UnknownReproductionError, discover
from guardopt.reproduce.runner import Outcome, RunSummary
from guardopt.reproduce.runner import run as run_grid
from guardopt.reproduce.spec import Cell, Reproduction


def select(registry: Registry, names: list[str], use_all: bool) -> list[Reproduction]:
    """The reproductions named on the command line (all of them with ``--all``)."""
    chosen = registry.all() if use_all else []
    chosen += [r for r in registry.select(names) if r not in chosen]
    return chosen


def unknown_message(exc: UnknownReproductionError, registry: Registry) -> str:
    """The error for unknown names, pointing at modules that failed to import."""
    msg = str(exc)
    from guardopt.cli.main import suggest

    hints = [suggest(name, exc.valid) for name in exc.unknown]
    msg += "".join(h.replace("Did you mean", f"For {name!r}, did you mean") if len(exc.unknown) > 1 else h
                   for name, h in zip(exc.unknown, hints) if h)
    if registry.errors:
        broken = ", ".join(sorted(registry.errors))
        msg += f" Some paper modules failed to import ({broken}); see `guardopt list`."
    return msg


class _Bar:
    """A rich progress bar of cells done / total with time left (started only when there is work)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def start(self, total: int, per_repro: Mapping[str, int]) -> None:
        if not self.enabled or total == 0:
            return
        self.progress = Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("cells"),
            TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), console=err, transient=False,
        )
        self.progress.start()
        names = [n for n, k in per_repro.items() if k]
        label = names[0] if len(names) == 1 else f"{len(names)} reproductions"
        self.task = self.progress.add_task(label, total=total)

    def advance(self, cell: Cell, outcome: Outcome) -> None:
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task)
            if outcome.status != "done":
                self.progress.console.print(
                    f"[red]cell failed[/] {cell.reproduction} / {cell.task} / {cell.method} / seed "
                    f"{cell.seed}: {last_line(outcome.error)}"
                )

    def stop(self) -> None:
        if self.progress is not None:
            self.progress.stop()


def print_summary(summary: RunSummary) -> None:
    """The verdict table, each reproduction's evidence, failures and import errors."""
    table = Table(title=f"Verdicts ({summary.scale} scale, store {summary.store})", title_justify="left")
    for col in ("reproduction", "verdict", "done", "failed", "seeds", "ran", "run s", "total s"):
        table.add_column(col, justify="left" if col in ("reproduction", "verdict") else "right", no_wrap=True)
    for r in summary.reproductions:
        table.add_row(r.name, verdict_text(r.verdict, r.verdict_error), f"{r.done}/{r.total}", str(r.failed),
                      str(r.seeds), str(r.ran), f"{r.run_time:.1f}", f"{r.stored_time:.1f}")
    out.print(table)
    out.print("done: cells stored as done / in the grid; ran: cells run now; run s: their summed wall time; "
              "total s: summed wall time of every stored cell of the grid.")
    for r in summary.reproductions:
        if r.verdict:
            out.print(f"[bold]{r.name}[/]: {verdict_text(r.verdict)} — {r.verdict.summary}")
        if r.verdict and r.verdict.evidence:
            ev = Table(title=f"{r.name}: evidence", title_justify="left")
            for col in ("check", "value", "threshold", "passed"):
                ev.add_column(col)
            for e in r.verdict.evidence:
                ev.add_row(e.check, fmt(e.value), fmt(e.threshold), evidence_mark(e))
            out.print(ev)
        if r.verdict_error:
            out.print(f"[red]{r.name}: the verdict function raised:[/]\n{r.verdict_error}")
        for key, line in r.failures[:10]:
            out.print(f"[red]failed cell[/] {' / '.join(map(str, key[1:4]))}: {line}")
        if len(r.failures) > 10:
            out.print(f"[red]... and {len(r.failures) - 10} more failed cells of {r.name}[/]")
    for module, tb in summary.import_errors.items():
        out.print(f"[red]module {module} failed to import:[/] {last_line(tb)}")
    if summary.has_errors:
        out.print("[red]There were errors (see above); a rerun retries failed cells.[/]")
    out.print(f"Total wall time of this run: {summary.elapsed:.1f} s")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Handle ``guardopt reproduce``; returns the exit code."""
    if not args.names and not args.all:
        err.print("guardopt reproduce: name one or more reproductions or pass --all "
                  "(see `guardopt list`).")
        return 2
    registry = discover()
    try:
        chosen = select(registry, list(args.names), args.all)
    except UnknownReproductionError as exc:
        err.print(f"[red]error:[/] {unknown_message(exc, registry)}")
        return 2
    import_errors = registry.errors if args.all else {}
    address = getattr(args, "address", None)
    if address is not None and args.executor not in ("ray", "dask"):
        err.print("guardopt reproduce: --address needs --executor ray or --executor dask "
                  f"(got --executor {args.executor}).")
        return 2
    bar = _Bar(args.progress)
    try:
        with _connected(args.executor, address):
            summary = _run(args, chosen, import_errors, bar)
    except KeyboardInterrupt:
        bar.stop()
        err.print("[yellow]Interrupted.[/] Every finished cell is stored; run the same command again "
                  "to resume.")
        return 130
    except GuardoptError as exc:
        bar.stop()
        err.print(f"[red]error:[/] {exc}")
        return 1
    except ConnectionError as exc:
        bar.stop()
        err.print(f"[red]error:[/] could not reach the {args.executor} cluster at {address}: {exc}")
        return 1
    bar.stop()
    if summary.cells_to_run == 0:
        total = sum(r.total for r in summary.reproductions)
        out.print(f"Everything is already stored in {summary.store} ({total} cells); nothing to run.")
    print_summary(summary)
    return 1 if summary.has_errors else 0


def _connected(kind: str, address: str | None) -> AbstractContextManager[Any]:
    """A connection to the cluster at ``address`` while the grid runs (nothing without an address)."""
    if address is None:
        return nullcontext()
    from guardopt.core.executors import cluster_connection

    return cluster_connection(kind, address)


def _run(args: argparse.Namespace, chosen: list[Reproduction], import_errors: Any, bar: _Bar) -> RunSummary:
    # With a cluster connection, the runner's own executors (built without an address) run on it.
    return run_grid(chosen, scale=args.scale, seeds=args.seeds, workers=args.workers,
                    executor=args.executor, store=args.store, force=args.force,
                    import_errors=import_errors, on_start=bar.start, on_cell=bar.advance)

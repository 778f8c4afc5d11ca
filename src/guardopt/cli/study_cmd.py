"""``guardopt study show|list|export|delete|plot``: stored studies, read without resuming them.

Every subcommand reads the storage directly (nothing is written, except by ``delete``), so looking
at a study that another process is still running is safe.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rich.markup import escape
from rich.table import Table

from guardopt.cli._console import err, fmt, out
from guardopt.core.errors import GuardoptError
from guardopt.core.problem import meets_constraints
from guardopt.core.storage import Storage
from guardopt.core.trial import Trial, TrialState


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Handle ``guardopt study``; returns the exit code."""
    from guardopt.core.storage import make_storage
    from guardopt.dashboard.source import open_read_only

    url: str = args.storage
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        err.print(f"[red]error:[/] no storage file at {url[len('sqlite:///'):]}")
        return 2
    try:
        # Read-only unless deleting: looking at a storage never creates tables, migrates a schema or
        # takes a write lock (another process may be running the study).
        storage = make_storage(url) if args.study_command == "delete" else open_read_only(url)
        names = storage.study_names()
    except GuardoptError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2 if isinstance(exc, ValueError) else 1
    if args.study_command == "list":
        return _list(storage, names)
    if args.name not in names:
        from guardopt.cli.main import suggest

        err.print(f"[red]error:[/] no study {args.name!r} in {url}.{suggest(args.name, names)} "
                  f"Stored studies: {', '.join(names) or '(none)'}.")
        return 2
    handler = {"show": _show, "export": _export, "delete": _delete, "plot": _plot}[args.study_command]
    try:
        return handler(args, storage)
    except GuardoptError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1


# ---------------------------------------------------------------------------------- helpers


class _View:
    """A stored study's trials with their feasibility and the best feasible value so far."""

    def __init__(self, storage: Storage, name: str) -> None:
        self.spec = storage.get_spec(name) or {}
        self.trials = storage.trials(name)
        self.direction = str(self.spec.get("direction", "minimize"))
        self.constraints = {k: (v[0], float(v[1])) for k, v in (self.spec.get("constraints") or {}).items()}
        self.feasible = [meets_constraints(t, self.constraints) for t in self.trials]
        dirs = self.spec.get("directions")
        #: A multi-objective study's directions (empty for one objective) and its Pareto front.
        self.directions: list[str] = [str(d) for d in dirs] if isinstance(dirs, list) and len(dirs) > 1 else []
        self.front: set[int] = set()
        if self.directions:
            from guardopt.core.pareto import is_non_dominated

            cand = [t for t, f in zip(self.trials, self.feasible, strict=True)
                    if f and t.values is not None and len(t.values) == len(self.directions)]
            if cand:
                keep = is_non_dominated([list(t.values or ()) for t in cand], self.directions)
                self.front = {t.number for t, k in zip(cand, keep, strict=True) if k}
        self.best_so_far: list[float | None] = []
        best: float | None = None
        self.best_number: int | None = None
        sign = 1.0 if self.direction == "minimize" else -1.0
        for t, f in zip(self.trials, self.feasible):
            if f and t.value is not None and (best is None or sign * t.value < sign * best):
                best, self.best_number = t.value, t.number
            self.best_so_far.append(best)


def _feasible_text(t: Trial, feasible: bool) -> str:
    if t.state is not TrialState.COMPLETE:
        return "—"
    return "[green]yes[/]" if feasible else "[red]no[/]"


STATE_STYLE = {"COMPLETE": "green", "FAILED": "red", "PRUNED": "yellow", "RUNNING": "cyan"}


def _list(storage: Storage, names: list[str]) -> int:
    table = Table(title=f"Studies in {storage!r}", title_justify="left")
    for col in ("study", "direction", "trials", "complete", "feasible", "best"):
        table.add_column(col, justify="left" if col in ("study", "direction") else "right")
    for name in names:
        view = _View(storage, name)
        best = f"front of {len(view.front)}" if view.directions else \
            fmt(view.best_so_far[-1] if view.best_so_far else None)
        table.add_row(escape(name), ", ".join(view.directions) or view.direction, str(len(view.trials)),
                      str(sum(t.state is TrialState.COMPLETE for t in view.trials)), str(sum(view.feasible)), best)
    out.print(table)
    return 0


def _show(args: argparse.Namespace, storage: Storage) -> int:
    view = _View(storage, args.name)
    trials = view.trials
    shown = range(len(trials)) if args.last is None else range(max(0, len(trials) - args.last), len(trials))
    counts = {s.value: sum(t.state is s for t in trials) for s in TrialState}
    summary = ", ".join(f"{n} {s.lower()}" for s, n in counts.items() if n)
    cons = "; ".join(f"{k} {op} {thr:g}" for k, (op, thr) in view.constraints.items()) or "none"
    title = f"Study {args.name}: {len(trials)} trials ({summary or 'none'})"
    if view.constraints:
        title += " — constraint columns in magenta"
    caption = f"direction: {view.direction}; constraints: {escape(cons)}; ★ best feasible trial; " \
        "best: best feasible value so far"
    if view.directions:
        caption = f"directions: {', '.join(view.directions)}; constraints: {escape(cons)}; ★ on the Pareto front " \
            "(feasible and non-dominated)"
    table = Table(title=escape(title), title_justify="left", caption=caption, caption_justify="left")
    for col, justify in (("#", "right"), ("state", "left"), ("value", "right"), ("feasible", "center"),
                         ("best", "right")):
        table.add_column(col, justify=justify, no_wrap=True)  # type: ignore[arg-type]
    params = list(dict.fromkeys(k for i in shown for k in trials[i].params))
    cells = {k: [_short(trials[i].params[k]) if k in trials[i].params else "—" for i in shown] for k in params}
    notes = [trials[i].failure_reason or "" for i in shown]
    # One column per parameter (as in trials_dataframe()) when they fit the terminal; otherwise one
    # "params" column with a name=value line each, so a narrow terminal does not cut values into letters.
    fixed = 6 + 10 + 8 + 10 + 8 + 16 + sum(max(len(c), 6) + 3 for c in view.constraints)
    wide = fixed + sum(max([len(k), *map(len, v)]) + 3 for k, v in cells.items()) <= out.width
    if wide:
        for k in params:
            table.add_column(escape(k), justify="right", no_wrap=True)
    else:
        table.add_column("params", overflow="fold")
    for k in view.constraints:
        table.add_column(escape(k), justify="right", overflow="fold", style="magenta")
    if any(notes):
        table.add_column("note", overflow="fold")
    for j, i in enumerate(shown):
        t, f = trials[i], view.feasible[i]
        star = " ★" if t.number == view.best_number or t.number in view.front else ""
        state = f"[{STATE_STYLE.get(t.state.value, 'white')}]{t.state.value}[/]"
        value = ", ".join(fmt(v) for v in t.values) if t.values is not None else fmt(t.value)
        best_cell = ("front" if t.number in view.front else "") if view.directions else fmt(view.best_so_far[i])
        row = [f"{t.number}{star}", state, value, _feasible_text(t, f), best_cell]
        if wide:
            row += [escape(cells[k][j]) for k in params]
        else:
            row.append(escape("\n".join(f"{k}={cells[k][j]}" for k in params if k in t.params)))
        row += [fmt(t.constraints.get(k)) for k in view.constraints]
        if any(notes):
            row.append(escape(notes[j]))
        table.add_row(*row)
    out.print(table)
    if view.directions:
        front = [t for t in trials if t.number in view.front]
        if not front:
            out.print("No feasible completed trial yet: the Pareto front is empty.")
        else:
            out.print(f"Pareto front ({', '.join(view.directions)}): {len(front)} trials")
            for t in front:
                out.print(f"  #{t.number}: values ({', '.join(fmt(v) for v in t.values or ())}), "
                          f"params {escape(json.dumps(dict(t.params), default=str))}")
    elif view.best_number is None:
        out.print("No feasible completed trial yet.")
    else:
        best = next(t for t in trials if t.number == view.best_number)
        out.print(f"Best feasible trial: #{best.number}, value {fmt(best.value)}, "
                  f"params {escape(json.dumps(dict(best.params), default=str))}")
    return 0


def _short(v: Any) -> str:
    return fmt(v) if isinstance(v, float) else str(v)


def _export(args: argparse.Namespace, storage: Storage) -> int:
    view = _View(storage, args.name)
    fmt_name = args.format or ("json" if args.out and args.out.lower().endswith(".json") else "csv")
    text = _to_json(args.name, view) if fmt_name == "json" else _to_csv(view)
    if args.out is None:
        sys.stdout.write(text)
        return 0
    try:
        path = Path(args.out)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        err.print(f"[red]error:[/] cannot write --out {args.out}: {exc.strerror or exc}")
        return 1
    err.print(f"Wrote {len(view.trials)} trials of {args.name} to {args.out} ({fmt_name})")
    return 0


def _to_json(name: str, view: _View) -> str:
    trials = []
    for t, f in zip(view.trials, view.feasible):
        d = t.to_dict()
        d["feasible"] = f
        trials.append(d)
    doc = {"name": name, "problem": view.spec, "best_feasible_trial": view.best_number, "trials": trials}
    return json.dumps(doc, indent=2, default=str, allow_nan=True) + "\n"


def _to_csv(view: _View) -> str:
    def keys(field: str) -> list[str]:
        seen: dict[str, None] = {}
        for t in view.trials:
            seen.update(dict.fromkeys(getattr(t, field)))
        return list(seen)

    params, attrs = keys("params"), keys("user_attrs")
    cons = list(dict.fromkeys([*view.constraints, *keys("constraints")]))
    k = len(view.directions)  # a multi-objective study: one values_<j> column per objective
    head = ["number", "state", "value", *[f"values_{j}" for j in range(k)], "feasible", "datetime_start",
            "datetime_complete", "duration",
            *[f"params_{k}" for k in params], *[f"constraints_{k}" for k in cons],
            *[f"user_attrs_{k}" for k in attrs], "failure_reason"]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(head)
    for t, f in zip(view.trials, view.feasible):
        vals = list(t.values) if t.values is not None and len(t.values) == k else [None] * k
        w.writerow([t.number, t.state.value, _cell(t.value), *[_cell(v) for v in vals], f,
                    t.datetime_start.isoformat() if t.datetime_start else "",
                    t.datetime_complete.isoformat() if t.datetime_complete else "", _cell(t.duration),
                    *[_cell(t.params.get(k)) for k in params], *[_cell(t.constraints.get(k)) for k in cons],
                    *[_cell(t.user_attrs.get(k)) for k in attrs], t.failure_reason or ""])
    return buf.getvalue()


def _cell(v: Any) -> Any:
    # An inactive conditional parameter or an unmeasured constraint is an empty field, not "None".
    if v is None:
        return ""
    if isinstance(v, float) and math.isnan(v):
        return "nan"
    if isinstance(v, (Mapping, list)):
        return json.dumps(v, default=str)
    return v


def _delete(args: argparse.Namespace, storage: Storage) -> int:
    n = len(storage.trials(args.name))
    if not args.yes:
        if not sys.stdin.isatty():
            err.print(f"[red]error:[/] deleting study {args.name!r} ({n} trials) needs --yes when standard input "
                      "is not a terminal.")
            return 2
        answer = input(f"Delete study {args.name!r} and its {n} trials from {args.storage}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            out.print("Nothing deleted.")
            return 1
    storage.delete_study(args.name)
    out.print(f"Deleted study {escape(args.name)} ({n} trials) from {escape(args.storage)}.")
    return 0


def _plot(args: argparse.Namespace, storage: Storage) -> int:
    from guardopt.viz import StudyData, write_study_plots

    data = StudyData.load(args.name, storage)
    try:
        written = write_study_plots(data, args.out, dpi=args.dpi, importance=args.importance)
    except OSError as exc:
        err.print(f"[red]error:[/] cannot write the plots to --out {args.out}: {exc.strerror or exc}")
        return 1
    for name, result in written.items():
        if isinstance(result, Path):
            out.print(f"[green]wrote[/] {escape(str(result))} (+ {result.with_suffix('.csv').name})")
        else:
            out.print(f"[yellow]skipped[/] {name}: {escape(result)}")
    n = sum(isinstance(r, Path) for r in written.values())
    out.print(f"{n} plots of {escape(args.name)} in {escape(args.out)}")
    return 0

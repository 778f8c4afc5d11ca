"""Markdown reports from a result store: one page per reproduction plus an index.

``write_reports`` writes ``<out>/<name>.md`` per reproduction (paper, claim, verdict with the numbers
that decided it, mean ± standard error tables per metric, notes, extra Markdown, failed cells, plots
under ``<out>/figures/<name>/``) and ``<out>/index.md``. Every path written into a report is
relative to ``<out>``, so the folder can be moved or committed as is. The verdict is recomputed from
the stored rows each time, never copied from an earlier run.
"""

from __future__ import annotations

import math
import os
import traceback
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from guardopt.reproduce.plotting import mean_se
from guardopt.reproduce.registry import Registry
from guardopt.reproduce.runner import compute_verdict, current_rows
from guardopt.reproduce.spec import Outcome, Reproduction, Results, Verdict
from guardopt.reproduce.store import ResultStore, StoredCell, open_store

SCALES = ("full", "quick")  # preference order when no scale is asked for
_OUTCOME_TEXT = {Outcome.PASS: "pass", Outcome.FAIL: "**FAIL**", Outcome.VACUOUS: "**VACUOUS**",
                 Outcome.INCONCLUSIVE: "**INCONCLUSIVE**", None: "?"}
TRACEBACK_LINES = 8


@dataclass
class ReportEntry:
    """One reproduction in the index."""

    name: str
    title: str
    scale: str | None = None  # None: not run
    verdict: Verdict | None = None
    verdict_error: str | None = None
    seeds: int = 0
    done: int = 0
    failed: int = 0
    grid: int = 0
    date: str = ""
    cell_time: float = 0.0
    path: Path | None = None
    figures: list[Path] = field(default_factory=list)


def choose_scale(store: ResultStore | None, reproduction: Reproduction, scale: str | None) -> str | None:
    """The scale to report: the asked one, else full when it has rows, else quick; None when not run."""
    if store is None:
        return None
    present = set(store.scales(reproduction.name))
    if scale is not None:
        return scale if scale in present else None
    for s in SCALES:
        if s in present and current_rows(store, reproduction, s)[0]:
            return s
    return None


def _fmt(x: float) -> str:
    if math.isnan(x):
        return "nan"
    return f"{x:.4g}"


def _mean_se_text(values: Sequence[float]) -> str:
    vals = [v for v in values if not math.isnan(v)]
    if not vals:
        return "—"
    m, s = mean_se(vals)
    se = float(s)
    return f"{_fmt(float(m))} ± {se:.2g}" if len(vals) > 1 else f"{_fmt(float(m))}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _machine(rows: Sequence[StoredCell]) -> str:
    seen = sorted({(str(r.environment.get("hostname", "?")), str(r.environment.get("cpu_count", "?")))
                   for r in rows})
    return ", ".join(f"{h} ({c} cores)" for h, c in seen) or "—"


def _versions(rows: Sequence[StoredCell]) -> str:
    seen: dict[str, set[str]] = {}
    for r in rows:
        for pkg, ver in dict(r.environment.get("versions", {})).items():
            if ver:
                seen.setdefault(pkg, set()).add(str(ver))
        py = r.environment.get("python")
        if py:
            seen.setdefault("python", set()).add(str(py))
    return ", ".join(f"{k} {'/'.join(sorted(v))}" for k, v in sorted(seen.items())) or "—"


def _tail(error: str | None, n: int = TRACEBACK_LINES) -> str:
    # The last lines hold the exception and the innermost frames; paths are made relative so that a
    # committed report does not carry this machine's folders.
    text = (error or "").rstrip()
    for prefix in sorted({str(Path.cwd()), str(Path(__file__).resolve().parents[3])}, key=len, reverse=True):
        text = text.replace(prefix + os.sep, "")
    return "\n".join(text.splitlines()[-n:])


def _metric_tables(reproduction: Reproduction, results: Results) -> list[str]:
    lines: list[str] = []
    methods = list(reproduction.methods)
    for metric in reproduction.metrics:
        lines += [f"### {metric}", "", "| task | " + " | ".join(methods) + " |",
                  "|---|" + "---|" * len(methods)]
        for task in reproduction.tasks:
            row = []
            for method in methods:
                # n counts the cells that recorded the metric: a cell that skipped it stores NaN.
                vals = [v for v in results.metric(metric, task, method) if not math.isnan(v)]
                row.append(_mean_se_text(vals) + (f" (n={len(vals)})" if vals else ""))
            lines.append(f"| {_cell(task)} | " + " | ".join(row) + " |")
        lines.append("")
    return lines


def render(reproduction: Reproduction, scale: str, rows: Sequence[StoredCell], results: Results,
           verdict: Verdict | None, verdict_error: str | None, figures: Sequence[Path], out: Path,
           stale: int = 0, plot_error: str | None = None, extra: str | None = None,
           grid_size: int = 0) -> str:
    """The Markdown page of one reproduction (paths relative to ``out``)."""
    p = reproduction.paper
    done = [r for r in rows if r.status == "done"]
    failed = [r for r in rows if r.status != "done"]
    seeds = sorted({r.seed for r in done})
    dates = sorted(r.finished_at for r in rows)
    cell_time = sum(r.wall_time for r in rows if not math.isnan(r.wall_time))
    lines = [
        f"# {reproduction.name}: {p.title}",
        "",
        f"**Paper:** [{p.title}]({p.url}) ({p.year})",
        "",
        f"**Claim:** {reproduction.claim}",
        "",
    ]
    if verdict is not None:
        lines += [f"**Verdict: {verdict.status.value}** — {verdict.summary}", ""]
    else:
        lines += ["**Verdict: ERROR** — the verdict function raised:", "", "```", _tail(verdict_error), "```", ""]
    lines += [
        "| scale | seeds | cells done / failed / in grid | machine | date (UTC) | total cell wall time |",
        "|---|---|---|---|---|---|",
        f"| {scale} | {len(seeds)} | {len(done)} / {len(failed)} / {grid_size} | {_cell(_machine(rows))} | "
        f"{dates[-1][:19].replace('T', ' ') if dates else '—'} | {cell_time:.1f} s |",
        "",
    ]
    if verdict is not None and verdict.evidence:
        lines += ["## Evidence (the numbers that decided the verdict)", "",
                  "| check | value | threshold | outcome | detail |", "|---|---|---|---|---|"]
        for e in verdict.evidence:
            thr = "—" if e.threshold is None else _fmt(e.threshold)
            lines.append(f"| {_cell(e.check)} | {_fmt(e.value)} | {thr} | {_OUTCOME_TEXT[e.outcome]} | "
                         f"{_cell(e.detail) or '—'} |")
        lines.append("")
    lines += ["## Results (mean ± standard error over seeds)", ""]
    lines += _metric_tables(reproduction, results)
    if figures or plot_error:
        lines += ["## Figures", ""]
        for f in figures:
            rel = Path(os.path.relpath(f, out)).as_posix()
            lines += [f"![{f.stem}]({rel})", ""]
        if plot_error:
            lines += ["The plot function raised:", "", "```", _tail(plot_error), "```", ""]
    if reproduction.notes.strip():
        lines += ["## Notes", "", reproduction.notes.strip(), ""]
    if extra and extra.strip():
        lines += [extra.strip(), ""]
    if failed:
        lines += [f"## Failed cells ({len(failed)})", "", "A rerun of `guardopt reproduce` retries them.", ""]
        for r in failed:
            lines += [f"- {_cell(r.task)} / {_cell(r.method)} / seed {r.seed}:", "", "  ```",
                      *("  " + ln for ln in _tail(r.error).splitlines()), "  ```", ""]
    lines += ["## Run details", "", f"- Seeds: {', '.join(map(str, seeds)) or '—'}",
              f"- Versions: {_versions(rows)}"]
    if stale:
        lines.append(f"- {stale} stored cells ran with other settings of this scale and are left out.")
    lines.append("")
    return "\n".join(lines)


def _grid_size(reproduction: Reproduction, scale: str, rows: Sequence[StoredCell]) -> int:
    # Runs with --seeds N may have stored more seeds than the scale declares.
    seeds = max(reproduction.scales[scale].seeds, max((r.seed for r in rows), default=-1) + 1)
    return len(reproduction.cells(scale, seeds))


def summary_entry(store: ResultStore, reproduction: Reproduction, scale: str, out: Path) -> ReportEntry:
    """The index entry of a reproduction without writing its page (links to an existing page)."""
    rows, _ = current_rows(store, reproduction, scale)
    results = Results([r.to_record() for r in rows], reproduction.tasks, reproduction.methods)
    verdict, verdict_error = compute_verdict(reproduction, results)
    done = [r for r in rows if r.status == "done"]
    page = out / f"{reproduction.name}.md"
    return ReportEntry(
        name=reproduction.name, title=reproduction.paper.title, scale=scale, verdict=verdict,
        verdict_error=verdict_error, seeds=len({r.seed for r in done}), done=len(done),
        failed=len(rows) - len(done), grid=_grid_size(reproduction, scale, rows),
        date=max((r.finished_at for r in rows), default="")[:10],
        cell_time=sum(r.wall_time for r in rows if not math.isnan(r.wall_time)),
        path=page if page.exists() else None,
    )


def report_one(store: ResultStore, reproduction: Reproduction, scale: str, out: Path) -> ReportEntry:
    """Write ``<out>/<name>.md`` (and its figures) for one reproduction at one scale."""
    rows, stale = current_rows(store, reproduction, scale)
    results = Results([r.to_record() for r in rows], reproduction.tasks, reproduction.methods)
    verdict, verdict_error = compute_verdict(reproduction, results)
    figdir = out / "figures" / reproduction.name
    figures: list[Path] = []
    plot_error = None
    if reproduction.plots is not None:
        if figdir.exists():
            for old in figdir.glob("*.png"):  # figures of an earlier report must not linger
                old.unlink()
        figdir.mkdir(parents=True, exist_ok=True)
        try:
            import matplotlib

            matplotlib.use("Agg")
            figures = [Path(f) for f in reproduction.plots(results, figdir)]
            figures = [f if f.is_absolute() else Path.cwd() / f for f in figures]
        except Exception:
            plot_error = traceback.format_exc()
        finally:
            import matplotlib.pyplot as plt

            plt.close("all")
    extra = None
    if reproduction.extra_markdown is not None:
        try:
            extra = reproduction.extra_markdown(results)
        except Exception:
            tb = _tail(traceback.format_exc())
            extra = f"## Extra tables\n\nThe extra_markdown function raised:\n\n```\n{tb}\n```"
    grid_size = _grid_size(reproduction, scale, rows)
    text = render(reproduction, scale, rows, results, verdict, verdict_error, figures, out.resolve(), stale,
                  plot_error, extra, grid_size)
    path = out / f"{reproduction.name}.md"
    path.write_text(text, encoding="utf-8")
    done = [r for r in rows if r.status == "done"]
    return ReportEntry(
        name=reproduction.name, title=reproduction.paper.title, scale=scale, verdict=verdict,
        verdict_error=verdict_error, seeds=len({r.seed for r in done}), done=len(done),
        failed=len(rows) - len(done), grid=grid_size,
        date=max((r.finished_at for r in rows), default="")[:10],
        cell_time=sum(r.wall_time for r in rows if not math.isnan(r.wall_time)), path=path, figures=figures,
    )


def render_index(entries: Sequence[ReportEntry], import_errors: dict[str, str], out: Path) -> str:
    """The Markdown index of every reproduction (links relative to ``out``)."""
    # The date of the newest stored cell, not today's: the same store gives the same index, byte for byte.
    newest = max((e.date for e in entries if e.scale is not None), default="") or "—"
    lines = ["# guardopt reproductions", "", f"Generated by `guardopt report` from cells stored up to {newest}.", "",
             "| reproduction | paper | verdict | scale | seeds | cells done / failed | date | cell wall time |",
             "|---|---|---|---|---|---|---|---|"]
    for e in entries:
        if e.scale is None:
            lines.append(f"| {e.name} | {_cell(e.title)} | not run | — | — | — | — | — |")
            continue
        status = e.verdict.status.value if e.verdict else "ERROR"
        name = f"[{e.name}]({Path(os.path.relpath(e.path.resolve(), out)).as_posix()})" if e.path else e.name
        lines.append(f"| {name} | {_cell(e.title)} | **{status}** | {e.scale} | {e.seeds} | "
                     f"{e.done} / {e.failed} | {e.date} | {e.cell_time:.1f} s |")
    if import_errors:
        lines += ["", "## Paper modules that failed to import", ""]
        for module, tb in sorted(import_errors.items()):
            last = [ln for ln in tb.strip().splitlines() if ln.strip()]
            lines.append(f"- `{module}`: {_cell(last[-1] if last else '?')}")
    lines.append("")
    return "\n".join(lines)


def write_reports(registry: Registry, store: str | Path, out: str | Path, names: Sequence[str] | None = None,
                  scale: str | None = None) -> list[ReportEntry]:
    """Write the reports of the named reproductions (default: all) and the index.

    Args:
        registry: Where the reproductions come from.
        store: The SQLite result store (a missing file means nothing was run).
        out: Output folder (created).
        names: Reproductions to report (default: every registered one).
        scale: ``"quick"`` or ``"full"``; default full when stored, else quick.

    Returns:
        One entry per reproduction, in the index's order.
    """
    out_dir = Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = {r.name for r in (registry.select(names) if names else registry.all())}
    if not Path(store).exists():
        return _write_all(registry, None, out_dir, chosen, scale)
    with open_store(store) as db:
        return _write_all(registry, db, out_dir, chosen, scale)


def _write_all(registry: Registry, db: ResultStore | None, out_dir: Path, chosen: set[str],
               scale: str | None) -> list[ReportEntry]:
    entries: list[ReportEntry] = []
    index: list[ReportEntry] = []
    # The index always lists every reproduction; only the chosen ones get their page rewritten.
    for repro in registry.all():
        s = choose_scale(db, repro, scale)
        if s is None or db is None:
            entry = ReportEntry(repro.name, repro.paper.title)
        elif repro.name in chosen:
            entry = report_one(db, repro, s, out_dir)
        else:
            entry = summary_entry(db, repro, s, out_dir)
        index.append(entry)
        if repro.name in chosen:
            entries.append(entry)
    (out_dir / "index.md").write_text(render_index(index, registry.errors, out_dir.resolve()), encoding="utf-8")
    return entries

"""Shared rich output helpers of the CLI: verdict colours, number formatting, error printing."""

from __future__ import annotations

import math

from rich.console import Console

from guardopt.reproduce.spec import Evidence, Outcome, Status, Verdict

STYLE = {Status.HOLDS: "bold green", Status.FAILS: "bold red", Status.INCONCLUSIVE: "bold yellow"}

out = Console()
err = Console(stderr=True)


def fmt(x: float | None) -> str:
    """A number for a table: 4 significant digits, '—' for None, 'nan' for NaN."""
    if x is None:
        return "—"
    if math.isnan(x):
        return "nan"
    return f"{x:.4g}"


def verdict_text(verdict: Verdict | None, error: str | None = None) -> str:
    """The verdict status with rich markup ('ERROR' when the verdict function raised)."""
    if verdict is None:
        return "[bold red]ERROR[/]" if error else "—"
    return f"[{STYLE[verdict.status]}]{verdict.status.value}[/]"


def evidence_mark(e: Evidence) -> str:
    """✓ for a real pass, ✗ for a failure, and the word for a VACUOUS or INCONCLUSIVE check (never a pass)."""
    if e.outcome is Outcome.PASS:
        return "[green]✓[/]"
    if e.outcome is Outcome.FAIL:
        return "[red]✗[/]"
    return f"[yellow]{e.outcome.value if e.outcome else '?'}[/]"


def last_line(text: str | None) -> str:
    """The last non-empty line of a traceback (the exception and its message)."""
    lines = [ln for ln in (text or "").strip().splitlines() if ln.strip()]
    return lines[-1] if lines else ""

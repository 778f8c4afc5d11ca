"""``guardopt report``: Markdown reports with tables and plots from a result store."""

from __future__ import annotations

import argparse
from pathlib import Path

from guardopt.cli._console import err, out, verdict_text
from guardopt.cli.reproduce_cmd import unknown_message
from guardopt.core.errors import GuardoptError
from guardopt.reproduce.registry import UnknownReproductionError, discover
from guardopt.reproduce.report import write_reports
from guardopt.reproduce.runner import current_rows
from guardopt.reproduce.store import export_evidence, open_store


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Handle ``guardopt report``; returns the exit code."""
    registry = discover()
    try:
        registry.select(list(args.names))  # unknown names are a usage error, whatever the store
    except UnknownReproductionError as exc:
        err.print(f"[red]error:[/] {unknown_message(exc, registry)}")
        return 2
    try:
        Path(args.out).mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # an unwritable or non-folder --out: a message, not a traceback
        err.print(f"[red]error:[/] cannot write the reports to --out {args.out}: {exc.strerror or exc}")
        return 1
    if not Path(args.store).exists():
        err.print(f"[red]error:[/] no result store at --store {args.store}. Run `guardopt reproduce NAME --store "
                  f"{args.store}` first, or point --store at an existing SQLite file or evidence folder.")
        return 1
    try:
        entries = write_reports(registry, args.store, args.out, names=args.names or None, scale=args.scale)
    except UnknownReproductionError as exc:
        err.print(f"[red]error:[/] {unknown_message(exc, registry)}")
        return 2
    except GuardoptError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 1
    except OSError as exc:  # an unwritable or non-folder --out: a message, not a traceback
        err.print(f"[red]error:[/] cannot write the reports to --out {args.out}: {exc.strerror or exc}")
        return 1
    if args.evidence:
        # Only the rows the reports were computed from (current grid and settings): stale rows of an
        # earlier version of a reproduction are not evidence.
        try:
            with open_store(args.store) as db:
                written = [
                    export_evidence(args.evidence, e.name, current_rows(db, registry.select([e.name])[0], e.scale)[0])
                    for e in entries if e.scale is not None
                ]
            out.print(f"Evidence: {sum(p is not None for p in written)} files in {args.evidence}")
        except (GuardoptError, OSError) as exc:
            err.print(f"[red]error:[/] cannot export the evidence: {exc}")
            return 1
    for e in entries:
        if e.scale is None:
            out.print(f"{e.name}: not run")
        else:
            out.print(f"{e.name}: {verdict_text(e.verdict, e.verdict_error)} ({e.scale}, {e.seeds} seeds) "
                      f"-> {e.path} ({len(e.figures)} figures)")
    out.print(f"Index: {Path(args.out) / 'index.md'}")
    target = Path(args.out).resolve()
    if target.name == "reports" and (target.parent / "pyproject.toml").exists():
        quick = [e.name for e in entries if e.scale == "quick"]
        if quick:
            err.print(f"[yellow]warning:[/] the committed reports/ should hold full-scale runs only; these are "
                      f"quick: {', '.join(quick)} (use --store .guardopt/full.db).")
    errors = bool(registry.errors) or any(e.verdict_error for e in entries)
    return 1 if errors else 0

"""``guardopt study show|list``: look into studies stored by `guardopt.core.study.Study`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.table import Table

from guardopt.cli._console import err, fmt, out
from guardopt.core.errors import GuardoptError


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Handle ``guardopt study``; returns the exit code."""
    from guardopt.core.storage import make_storage

    url: str = args.storage
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///"):]).exists():
        err.print(f"[red]error:[/] no storage file at {url[len('sqlite:///'):]}")
        return 2
    try:
        storage = make_storage(url)
        names = storage.study_names()
    except GuardoptError as exc:
        err.print(f"[red]error:[/] {exc}")
        return 2 if isinstance(exc, ValueError) else 1
    if args.study_command == "list":
        for name in names:
            out.print(name)
        return 0
    if args.name not in names:
        err.print(f"[red]error:[/] no study {args.name!r} in {url}. Stored studies: {', '.join(names) or '(none)'}.")
        return 2
    trials = storage.trials(args.name)
    spec = storage.get_spec(args.name) or {}
    table = Table(title=f"Study {args.name} ({len(trials)} trials)", title_justify="left")
    for col in ("#", "state", "value", "params", "constraints", "note"):
        table.add_column(col, justify="right" if col in ("#", "value") else "left")
    for t in trials:
        table.add_row(str(t.number), t.state.value, fmt(t.value), json.dumps(dict(t.params), default=str),
                      json.dumps(dict(t.constraints), default=str) if t.constraints else "",
                      t.failure_reason or "")
    if spec:
        out.print(f"direction: {spec.get('direction', '?')}; constraints: {spec.get('constraints', {})}")
    out.print(table)
    return 0

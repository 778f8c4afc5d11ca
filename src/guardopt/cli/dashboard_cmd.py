"""``guardopt dashboard``: serve the read-only dashboard of a storage (see `guardopt.dashboard`)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.markup import escape

from guardopt.cli._console import err, out
from guardopt.core.errors import GuardoptError

#: The folder whose ``index.md`` is shown when ``--reports`` is not given (when it exists).
DEFAULT_REPORTS = Path("reports")


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Handle ``guardopt dashboard``; returns the exit code (0 after Ctrl-C)."""
    from guardopt.dashboard import Dashboard

    reports = args.reports
    if reports is None and (DEFAULT_REPORTS / "index.md").is_file():
        reports = str(DEFAULT_REPORTS)
    try:
        dashboard = Dashboard(args.storage, reports=reports, host=args.host, port=args.port,
                              refresh=args.refresh, importance=args.importance)
    except GuardoptError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return 2 if isinstance(exc, ValueError) else 1
    out.print(f"guardopt dashboard of {escape(repr(dashboard.storage))} at [bold]{escape(dashboard.url)}[/] "
              f"(read-only; reports: {escape(str(dashboard.reports.root or 'none'))}). Ctrl-C stops it.")
    if args.host not in ("127.0.0.1", "localhost", "::1"):
        err.print("[yellow]warning:[/] serving beyond this machine: anyone who can reach "
                  f"{escape(args.host)}:{args.port} can read these studies (there is no login).")
    try:
        dashboard.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        dashboard.close()
    return 0

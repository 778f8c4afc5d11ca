"""``guardopt study copy NAME --from URL --to URL [--as NEW]``: move a study between storages.

The typical use is outgrowing SQLite: copy a study into PostgreSQL, then point workers on several
hosts at the server. The copy keeps trial numbers, results and intermediate values
(`guardopt.core.storage.copy_study`); the source is only read.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.markup import escape

from guardopt.cli._console import err, out
from guardopt.core.errors import GuardoptError


def add_parser(study_sub: Any, leaf: Any) -> argparse.ArgumentParser:
    """Register ``copy`` under the ``study`` subcommands (``leaf`` is main's handler binder)."""
    p: argparse.ArgumentParser = study_sub.add_parser(
        "copy", help="copy a stored study to another storage (e.g. SQLite -> PostgreSQL)",
        description="Copy a study and all its trials (numbers, results, intermediate values) from one storage "
        "to another, for example from sqlite:///studies.db to postgresql+psycopg://user@host/db. The source "
        "is only read; the target must not hold a study of that name yet.")
    p.add_argument("name", metavar="NAME", help="the study's name in the source")
    p.add_argument("--from", dest="source", required=True, metavar="URL", help="the storage holding the study")
    p.add_argument("--to", dest="target", required=True, metavar="URL", help="the storage to copy into")
    p.add_argument("--as", dest="new_name", default=None, metavar="NEW", help="the study's name in the target "
                   "(default: NAME)")
    leaf(p, "guardopt.cli.study_copy_cmd")
    return p


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Handle ``guardopt study copy``; returns the exit code."""
    from guardopt.core.storage import copy_study, make_storage

    source_url: str = args.source
    if source_url.startswith("sqlite:///") and not Path(source_url[len("sqlite:///"):]).exists():
        err.print(f"[red]error:[/] no storage file at {escape(source_url[len('sqlite:///'):])}")
        return 2
    try:
        source = make_storage(source_url)
        target = make_storage(args.target)
        n = copy_study(source, target, args.name, args.new_name)
    except GuardoptError as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        return 2 if isinstance(exc, ValueError) else 1
    dest = args.new_name or args.name
    out.print(escape(f"Copied study {args.name!r} ({n} trials) to {target!r} as {dest!r}."))
    return 0

"""``guardopt list``: the reproductions, the modules that failed to import, and the problems."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import traceback

from rich.markup import escape
from rich.table import Table

from guardopt.cli._console import last_line, out
from guardopt.reproduce.registry import discover


def problem_modules() -> list[tuple[str, list[str], str | None]]:
    """Each module of `guardopt.problems` with its public names (``__all__`` or non-underscore)."""
    import guardopt.problems as problems

    found: list[tuple[str, list[str], str | None]] = []
    for info in sorted(pkgutil.iter_modules(problems.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        name = f"guardopt.problems.{info.name}"
        try:
            module = importlib.import_module(name)
        except Exception:
            found.append((name, [], traceback.format_exc()))
            continue
        public = getattr(module, "__all__", None)
        if public is None:
            public = [n for n, v in vars(module).items()
                      if not n.startswith("_") and getattr(v, "__module__", None) == name]
        found.append((name, sorted(public), None))
    return found


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """Handle ``guardopt list``; returns the exit code (1 when a module failed to import)."""
    registry = discover()
    out.print(f"[bold]Reproductions[/] ({len(registry.names)})")
    for r in registry.all():
        out.print(f"\n[bold cyan]{r.name}[/]  {escape(r.paper.title)} ({r.paper.year}) {r.paper.url}", soft_wrap=True)
        out.print(f"  claim:   {escape(r.claim)}")
        out.print(f"  methods: {escape(', '.join(r.methods))}")
        out.print(f"  tasks:   {escape(', '.join(r.tasks))}")
        out.print(f"  seeds:   quick {r.scales['quick'].seeds}, full {r.scales['full'].seeds}")
    out.print()
    for module, tb in sorted(registry.errors.items()):
        out.print(f"[red]{module} failed to import:[/] {last_line(tb)}")
    problems = Table(title="Problems", title_justify="left")
    problems.add_column("module")
    problems.add_column("public names")
    bad = False
    for name, public, error in problem_modules():
        if error:
            bad = True
            problems.add_row(name, f"[red]import failed: {last_line(error)}[/]")
        else:
            problems.add_row(name, ", ".join(public) or "—")
    out.print(problems)
    return 1 if registry.errors or bad else 0

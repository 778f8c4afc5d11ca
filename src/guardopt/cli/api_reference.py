"""Generate docs/api.md, the API reference, from the public names and docstrings of guardopt's packages.

Run from the repository root after changing a public docstring or signature::

    python -m guardopt.cli.api_reference            # rewrites docs/api.md
    python -m guardopt.cli.api_reference --check    # exit 1 when docs/api.md is out of date

Every package listed in `PACKAGES` contributes the names of its ``__all__`` in alphabetical order:
classes with their signature, docstring and public methods, functions with their signature and
docstring, constants with their value. The output is deterministic (no memory addresses, no dates),
so ``tests/cli/test_api_reference.py`` can require it to be up to date.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from pathlib import Path
from typing import Any

#: The public packages, in the order of the reference.
PACKAGES = (
    "guardopt",
    "guardopt.core",
    "guardopt.uncertainty",
    "guardopt.guards",
    "guardopt.bo",
    "guardopt.bandits",
    "guardopt.certify",
    "guardopt.online",
    "guardopt.offline",
    "guardopt.optim",
    "guardopt.rl",
    "guardopt.align",
    "guardopt.align.vision",
    "guardopt.robust",
    "guardopt.audit",
    "guardopt.workflow",
    "guardopt.testing",
    "guardopt.viz",
    "guardopt.dashboard",
    "guardopt.integrations.optuna",
    "guardopt.integrations.sklearn",
    "guardopt.integrations.trl",
)
DEFAULT_OUT = Path("docs") / "api.md"
_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def _clean(text: str) -> str:
    return _ADDRESS.sub("", text)


def _signature(obj: Any) -> str:
    try:
        return _clean(str(inspect.signature(obj)))
    except (TypeError, ValueError):  # builtins and some C extensions have none
        return "(...)"


def _doc(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    # A fenced block keeps docstring layout (Args: lists, >>> examples) exactly as written.
    return f"```text\n{_clean(doc)}\n```\n" if doc else "*(no docstring)*\n"


def _summary(obj: Any) -> str:
    doc = inspect.getdoc(obj) or ""
    return _clean(doc.strip().split("\n\n")[0].replace("\n", " ")) if doc else "(no docstring)"


def _methods(cls: type) -> list[str]:
    lines = []
    for name, member in sorted(vars(cls).items()):
        if name.startswith("_"):
            continue
        if isinstance(member, property):
            lines.append(f"- `{name}` (property): {_summary(member)}")
        elif isinstance(member, (staticmethod, classmethod)):
            fn = member.__func__
            lines.append(f"- `{name}{_signature(fn)}`: {_summary(fn)}")
        elif inspect.isfunction(member):
            lines.append(f"- `{name}{_signature(member)}`: {_summary(member)}")
    return lines


def _entry(module: str, name: str, obj: Any) -> str:
    title = f"### `{module}.{name}`\n\n"
    if inspect.isclass(obj):
        body = f"`class {name}{_signature(obj)}`\n\n{_doc(obj)}"
        methods = _methods(obj)
        if methods:
            body += "\nMethods:\n\n" + "\n".join(methods) + "\n"
        return title + body
    if callable(obj):
        return title + f"`{name}{_signature(obj)}`\n\n{_doc(obj)}"
    return title + f"`{name} = {_clean(repr(obj))}`\n"


def generate(packages: tuple[str, ...] = PACKAGES) -> str:
    """The Markdown text of the API reference."""
    parts = ["# API reference\n",
             "Generated from the docstrings by `python -m guardopt.cli.api_reference`; do not edit by hand. "
             "Each package lists the names it exports (`__all__`), alphabetically. The user guides explain how "
             "the pieces fit together; this page is the exact signature and documentation of each.\n"]
    parts.append("Packages: " + ", ".join(f"[`{p}`](#{p.replace('.', '')})" for p in packages) + "\n")
    for package in packages:
        module = importlib.import_module(package)
        parts.append(f"## {package}\n\n{_doc(module)}")
        for name in sorted(getattr(module, "__all__", [])):
            if name.startswith("__"):
                continue
            parts.append(_entry(package, name, getattr(module, name)))
    return "\n".join(parts)


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) the API reference; returns the exit code."""
    parser = argparse.ArgumentParser(prog="python -m guardopt.cli.api_reference",
                                     description="Generate the API reference from docstrings.")
    parser.add_argument("--out", default=str(DEFAULT_OUT), help=f"output file (default {DEFAULT_OUT})")
    parser.add_argument("--check", action="store_true", help="exit 1 when the file is not up to date")
    args = parser.parse_args(argv)
    text = generate()
    path = Path(args.out)
    if args.check:
        current = path.read_text(encoding="utf-8") if path.exists() else ""
        if current != text:
            print(f"{path} is out of date: run python -m guardopt.cli.api_reference", file=sys.stderr)
            return 1
        return 0
    path.write_text(text, encoding="utf-8")
    print(f"Wrote {path} ({len(text.splitlines())} lines)")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The reproduction verdicts: ``index.md`` of a reports folder (as `guardopt report` writes it) as data.

`ReportsDir` reads the verdict table of ``<dir>/index.md``, knows which reports and figures the
folder holds, and renders one report's Markdown to HTML with markdown-it-py (a dependency of rich,
so nothing new is installed) with raw HTML *disabled*: whatever a report contains, the page gets
escaped text, and markdown-it's link validation drops ``javascript:`` and similar URLs.

Files are found by listing the folder (``*.md`` and ``figures/*/*.png``) and looked up by exact
name in that listing; a requested name is never joined to a path, so no request can reach a file
outside these two patterns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from guardopt.core.errors import InvalidParameterError

_LINK = re.compile(r"\[([^\]]*)\]\(([^)\s]*)\)")
_SPLIT = re.compile(r"(?<!\\)\|")


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [c.strip().replace("\\|", "|") for c in _SPLIT.split(inner)]


@dataclass(frozen=True)
class VerdictTable:
    """The verdict table of an ``index.md``.

    Attributes:
        columns: Header names.
        rows: One list per row; each cell ``{"text": ...}`` plus ``"report": name`` when it links to
            a report of the folder.
        note: The paragraph above the table (e.g. when it was generated), or ``""``.
        source: Where it was read from, or ``""`` when there was nothing to read.
    """

    columns: tuple[str, ...]
    rows: tuple[tuple[dict[str, Any], ...], ...]
    note: str = ""
    source: str = ""

    def as_json(self) -> dict[str, Any]:
        return {"columns": list(self.columns), "rows": [list(r) for r in self.rows], "note": self.note,
                "source": self.source}


class ReportsDir:
    """A folder written by ``guardopt report`` (``index.md``, ``<name>.md``, ``figures/<name>/*.png``).

    Args:
        root: The folder, or None for no reports.

    Raises:
        InvalidParameterError: ``root`` is given but is not a folder (naming ``reports``).
    """

    def __init__(self, root: str | Path | None) -> None:
        if root is not None and not Path(root).is_dir():
            raise InvalidParameterError("reports", "guardopt dashboard", "a folder written by `guardopt report`",
                                        str(root))
        self.root = None if root is None else Path(root).resolve()

    def reports(self) -> dict[str, Path]:
        """``{report name: file}`` for every ``<name>.md`` of the folder but ``index.md``."""
        if self.root is None:
            return {}
        return {p.stem: p for p in sorted(self.root.glob("*.md")) if self._inside(p) and p.name != "index.md"}

    def _inside(self, path: Path) -> bool:
        # A symbolic link that leads out of the folder is not one of its files.
        assert self.root is not None
        return path.is_file() and path.resolve().is_relative_to(self.root)

    def figures(self) -> dict[str, Path]:
        """``{"figures/<report>/<file>.png": file}`` for every figure of the folder."""
        if self.root is None:
            return {}
        return {f"figures/{p.parent.name}/{p.name}": p for p in sorted(self.root.glob("figures/*/*.png"))
                if self._inside(p)}

    def verdicts(self) -> VerdictTable:
        """The table of ``index.md`` (empty when there is none)."""
        index = None if self.root is None else self.root / "index.md"
        if index is None or not index.is_file():
            return VerdictTable((), (), "", "")
        lines = index.read_text(encoding="utf-8", errors="replace").splitlines()
        table = [i for i, line in enumerate(lines) if line.lstrip().startswith("|")]
        if len(table) < 2:
            return VerdictTable((), (), "", str(index))
        first = table[0]
        note = " ".join(line.strip() for line in lines[:first] if line.strip() and not line.startswith("#"))
        columns = tuple(_cells(lines[first]))
        known = self.reports()
        rows = []
        for i in table[2:]:
            cells = []
            for text in _cells(lines[i])[: len(columns)]:
                cell: dict[str, Any] = {"text": text}
                m = _LINK.search(text)
                if m:
                    cell["text"] = m.group(1)
                    target = m.group(2)
                    if target.endswith(".md") and target[:-3] in known:
                        cell["report"] = target[:-3]
                cell["text"] = cell["text"].replace("**", "").strip()
                cells.append(cell)
            rows.append(tuple(cells))
        return VerdictTable(columns, tuple(rows), note, str(index))

    def render(self, name: str) -> tuple[str, str] | None:
        """``(title, body HTML)`` of report ``name``, or None when the folder has no such report."""
        path = self.reports().get(name)
        if path is None:
            return None
        from markdown_it import MarkdownIt

        text = path.read_text(encoding="utf-8", errors="replace")
        md = MarkdownIt("commonmark", {"html": False}).enable("table")
        title = next((line.lstrip("#").strip() for line in text.splitlines() if line.startswith("# ")), name)
        return title, md.render(text)

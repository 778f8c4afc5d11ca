"""Every Python snippet in docs/ runs: the user guide's examples are tests.

A page's ```python blocks run in order in one namespace, as a reader would paste them. A block that
contains ``...`` is a sketch of a signature or of the user's own code, not a program, and is skipped.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
BLOCK = re.compile(r"```python\n(.*?)```", re.S)
# Pages whose snippets train small networks: a minute of CPU, so they run with the slow tests.
SLOW_PAGES = {"offline.md", "optim.md"}


def _pages() -> list[Path]:
    return sorted(p for p in DOCS.glob("*.md") if BLOCK.search(p.read_text(encoding="utf-8")))


@pytest.mark.parametrize(
    "page",
    [pytest.param(p, id=p.name, marks=[pytest.mark.slow] if p.name in SLOW_PAGES else []) for p in _pages()],
)
def test_docs_snippets_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # snippets that write files write them here
    namespace: dict[str, object] = {"__name__": "__docs__"}
    ran = 0
    for i, block in enumerate(BLOCK.findall(page.read_text(encoding="utf-8"))):
        if "..." in block:
            continue
        exec(compile(block, f"{page.name}[block {i}]", "exec"), namespace)
        ran += 1
    if ran == 0:
        pytest.skip(f"{page.name} has only sketches (blocks with '...')")

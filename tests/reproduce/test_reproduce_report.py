"""Reports: Markdown with relative links, PNG figures, an index with 'not run' entries, scale choice."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from reproduce_toys import BROKEN, TOY

from guardopt.reproduce.plotting import mean_se
from guardopt.reproduce.registry import from_reproductions
from guardopt.reproduce.report import write_reports
from guardopt.reproduce.runner import run
from guardopt.reproduce.spec import Status


def _links(text: str) -> list[str]:
    return re.findall(r"\]\(([^)]+)\)", text)


def test_report_writes_markdown_and_pngs_with_relative_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("GUARDOPT_TOY_SLEEP", "0")
    monkeypatch.chdir(tmp_path)
    run([TOY, BROKEN], store="store.db")
    out = Path("reports")
    entries = write_reports(from_reproductions([TOY, BROKEN]), "store.db", out)
    toy = next(e for e in entries if e.name == "toy")
    assert toy.verdict is not None and toy.verdict.status is Status.HOLDS
    assert len(toy.figures) == 2
    page = (out / "toy.md").read_text()
    assert "**Verdict: HOLDS**" in page and "mean score a - b" in page
    assert "| t1 |" in page and " ± " in page  # mean ± SE table
    assert "Toy notes." in page and "## Toy extra" in page
    assert "| quick | 3 |" in page and "cores" in page
    for link in _links(page):
        if link.startswith("http"):
            continue
        assert not Path(link).is_absolute()
        target = out / link
        assert target.exists() and target.suffix == ".png"
        assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    broken = (out / "toy-broken.md").read_text()
    assert "## Failed cells (2)" in broken and "RuntimeError: toy failure in seed 0" in broken
    assert str(tmp_path) not in broken  # tracebacks do not leak absolute paths of this machine
    index = (out / "index.md").read_text()
    assert "[toy](toy.md)" in index and "[toy-broken](toy-broken.md)" in index
    assert all(not Path(link).is_absolute() for link in _links(index))


def test_not_run_and_scale_preference(tmp_path, monkeypatch):
    monkeypatch.setenv("GUARDOPT_TOY_SLEEP", "0")
    store = tmp_path / "s.db"
    registry = from_reproductions([TOY, BROKEN])
    run([TOY], store=store, scale="quick", seeds=1)
    entries = write_reports(registry, store, tmp_path / "out")
    assert {e.name: e.scale for e in entries} == {"toy": "quick", "toy-broken": None}
    assert "| toy-broken | A toy paper | not run |" in (tmp_path / "out" / "index.md").read_text()
    run([TOY], store=store, scale="full", seeds=2)
    (entry,) = write_reports(registry, store, tmp_path / "out", names=["toy"])
    assert entry.scale == "full" and entry.seeds == 2
    (entry,) = write_reports(registry, store, tmp_path / "out", names=["toy"], scale="quick")
    assert entry.scale == "quick" and entry.seeds == 1
    # A partial report still lists every reproduction in the index.
    assert "toy-broken" in (tmp_path / "out" / "index.md").read_text()


def test_missing_store_lists_everything_as_not_run(tmp_path):
    entries = write_reports(from_reproductions([TOY]), tmp_path / "none.db", tmp_path / "out")
    assert entries[0].scale is None
    assert not (tmp_path / "none.db").exists()


def test_mean_se_reference_values():
    m, s = mean_se([1.0, 2.0, 3.0, np.nan])
    assert m == 2.0 and np.isclose(s, 1.0 / np.sqrt(3))  # std(ddof=1) = 1, n = 3
    m, s = mean_se([5.0])
    assert m == 5.0 and s == 0.0
    m, s = mean_se(np.array([[1.0, 2.0], [3.0, 6.0]]), axis=0)
    assert np.allclose(m, [2.0, 4.0]) and np.allclose(s, [1.0, 2.0])
    m, s = mean_se([np.nan])
    assert np.isnan(m) and np.isnan(s)

"""Toy reproductions for the harness tests (importable by worker processes and subprocesses).

Cells append a line to the file named by the ``GUARDOPT_TOY_LOG`` environment variable, so a test
can count how often each cell really ran; ``GUARDOPT_TOY_SLEEP`` slows them down.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from guardopt.reproduce.plotting import bar_chart, learning_curves
from guardopt.reproduce.spec import (
    Cell,
    CellResult,
    Evidence,
    Paper,
    Reproduction,
    Results,
    Scale,
    Verdict,
)

PAPER = Paper("A toy paper", 2025, "https://example.org/toy")


def toy_cell(cell: Cell) -> CellResult:
    log = os.environ.get("GUARDOPT_TOY_LOG")
    time.sleep(float(os.environ.get("GUARDOPT_TOY_SLEEP", "0")))
    if cell.task == "broken" and cell.method == "b":
        raise RuntimeError(f"toy failure in seed {cell.seed}")
    rng = np.random.default_rng([cell.seed, len(cell.task), len(cell.method)])
    offset = 1.0 if cell.method == "a" else 0.0
    value = offset + float(cell.settings.get("scale", 1.0)) * rng.normal(0, 0.1)
    if log:
        with open(log, "a") as f:
            f.write(f"{cell.task} {cell.method} {cell.seed} {cell.scale}\n")
    curve = list(np.cumsum(rng.normal(offset, 0.1, size=5)))
    return CellResult({"score": value, "other": value * 2}, {"regret": curve})


def toy_verdict(results: Results) -> Verdict:
    a = results.metric("score", method="a")
    b = results.metric("score", method="b")
    gap = float(np.mean(a) - np.mean(b)) if len(a) and len(b) else float("nan")
    return Verdict.from_evidence([Evidence("mean score a - b", gap, 0.5, gap > 0.5)])


def toy_plots(results: Results, outdir: Path) -> list[Path]:
    return [bar_chart(results, "score", outdir / "score.png", hline=0.5, hline_label="margin"),
            learning_curves(results, "regret", outdir / "regret.png")]


def toy_extra(results: Results) -> str:
    return "## Toy extra\n\nSome computed table."


TOY = Reproduction(
    name="toy",
    paper=PAPER,
    claim="Method a scores higher than b.",
    tasks=("t1", "t2"),
    methods=("a", "b"),
    metrics=("score", "other"),
    scales={"quick": Scale(3, {"scale": 1.0}), "full": Scale(5, {"scale": 0.5})},
    run_cell=toy_cell,
    verdict=toy_verdict,
    plots=toy_plots,
    extra_markdown=toy_extra,
    notes="Toy notes.",
)

BROKEN = Reproduction(
    name="toy-broken",
    paper=PAPER,
    claim="Cells of task 'broken' with method b raise.",
    tasks=("ok", "broken"),
    methods=("a", "b"),
    metrics=("score",),
    scales={"quick": Scale(2), "full": Scale(2)},
    run_cell=toy_cell,
    verdict=toy_verdict,
)

"""Give every method the same tuning budget, on seeds the evaluation never sees.

A verdict that compares a tuned method with an untuned baseline measures the tuning, not the method.
`tune` runs a declared grid on *tuning seeds* (`tuning_seeds`, all at or above
`TUNING_SEED_OFFSET`, so disjoint from the evaluation seeds ``0 .. N-1`` of every scale) and picks
the setting with the best mean score; ties go to the earlier setting in grid order. It is
deterministic, so a cell can call it (through a cached module-level function) and get the same
choice in every worker process. Cells store the chosen values in their metrics, and the report
shows `TuningResult.markdown` (the grid, every setting's score, the choice), so the choice is part
of the evidence.

Example:
    >>> res = tune(lambda s, seed: -(s["lr"] - 0.1) ** 2, {"lr": [0.01, 0.1, 1.0]}, tuning_seeds(2))
    >>> res.chosen
    {'lr': 0.1}
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from guardopt.core.errors import InvalidParameterError

__all__ = ["TUNING_SEED_OFFSET", "TuningResult", "tune", "tuning_seeds"]

TUNING_SEED_OFFSET = 1_000_000


def tuning_seeds(n: int, offset: int = 0) -> list[int]:
    """``n`` seeds reserved for tuning (``TUNING_SEED_OFFSET + offset + i``), disjoint from evaluation seeds."""
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InvalidParameterError("n", "tuning_seeds", "a positive integer", n)
    if isinstance(offset, bool) or not isinstance(offset, int) or offset < 0:
        raise InvalidParameterError("offset", "tuning_seeds", "a non-negative integer", offset)
    return [TUNING_SEED_OFFSET + offset + i for i in range(n)]


@dataclass(frozen=True)
class TuningResult:
    """The chosen setting, and every setting of the grid with its mean tuning score."""

    chosen: dict[str, Any]
    scores: tuple[tuple[dict[str, Any], float], ...]
    seeds: tuple[int, ...]
    maximize: bool

    def markdown(self, title: str) -> str:
        """A Markdown table of the grid: every setting, its mean score, and which was chosen."""
        names = list(self.chosen)
        direction = "higher" if self.maximize else "lower"
        lines = [f"**{title}** — grid searched on tuning seeds {self.seeds[0]}–{self.seeds[-1]} "
                 f"({len(self.seeds)} seeds, disjoint from the evaluation seeds); {direction} is better.", "",
                 "| " + " | ".join(names) + " | mean score | chosen |", "|" + "---|" * (len(names) + 2)]
        for setting, score in self.scores:
            mark = "**yes**" if setting == self.chosen else ""
            lines.append("| " + " | ".join(str(setting[k]) for k in names) + f" | {score:.4g} | {mark} |")
        return "\n".join(lines) + "\n"


def tune(score: Callable[[Mapping[str, Any], int], float], grid: Mapping[str, Sequence[Any]],
         seeds: Sequence[int], maximize: bool = True) -> TuningResult:
    """Pick the grid setting with the best mean ``score(setting, seed)`` over tuning ``seeds``.

    Args:
        score: ``(setting, seed) -> float``; a non-finite score (a diverged run) ranks last.
        grid: ``{name: [values, ...]}``; every combination is tried, in ``itertools.product`` order.
        seeds: Tuning seeds, each ``>= TUNING_SEED_OFFSET`` (see `tuning_seeds`).
        maximize: Whether a higher score is better.
    """
    if not grid or any(len(v) == 0 for v in grid.values()):
        raise InvalidParameterError("grid", "tune", "a non-empty mapping of non-empty value lists", grid)
    seeds = tuple(int(s) for s in seeds)
    if not seeds or min(seeds) < TUNING_SEED_OFFSET:
        raise InvalidParameterError("seeds", "tune", f"non-empty, every seed >= {TUNING_SEED_OFFSET} "
                                    "(disjoint from evaluation seeds)", seeds)
    names = list(grid)
    results: list[tuple[dict[str, Any], float]] = []
    for values in itertools.product(*(grid[k] for k in names)):
        setting = dict(zip(names, values))
        vals = np.array([float(score(setting, s)) for s in seeds], dtype=float)
        results.append((setting, float(vals.mean()) if np.all(np.isfinite(vals)) else math.nan))

    def rank(item: tuple[dict[str, Any], float]) -> float:
        s = item[1]
        if math.isnan(s):
            return -math.inf
        return s if maximize else -s

    best = max(results, key=rank)  # max keeps the first of equal keys: ties go to grid order
    return TuningResult(dict(best[0]), tuple(results), seeds, maximize)

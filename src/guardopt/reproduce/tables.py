"""Summaries over seeds for reproductions' verdicts and Markdown tables.

Every helper drops NaN (a metric a cell did not report) before summarizing, and says what it returns
when nothing is left. The standard error is ``std(ddof=1) / sqrt(n)``, 0 for one value.
"""

from __future__ import annotations

import math

import numpy as np

from guardopt.reproduce.spec import Results

__all__ = ["format_mean_se", "mean_se_n", "metric_mean", "present"]


def present(values: np.ndarray) -> np.ndarray:
    """The non-NaN entries of a 1-D array (``Results.metric`` marks absent values with NaN)."""
    return values[~np.isnan(values)]


def metric_mean(results: Results, metric: str, task: str | None, method: str | None) -> float:
    """Mean over seeds of one metric of one (task, method); NaN when no cell reported it."""
    v = present(results.metric(metric, task, method))
    return float(v.mean()) if v.size else math.nan


def mean_se_n(values: np.ndarray) -> tuple[float, float, int]:
    """``(mean, standard error, count)`` of the non-NaN values; ``(nan, nan, 0)`` when there are none."""
    x = present(values)
    if x.size == 0:
        return math.nan, math.nan, 0
    se = float(x.std(ddof=1) / math.sqrt(x.size)) if x.size > 1 else 0.0
    return float(x.mean()), se, int(x.size)


def format_mean_se(values: np.ndarray, digits: int = 3, empty: str = "–") -> str:
    """``"mean ± se"`` of the non-NaN values with ``digits`` decimals, or ``empty`` when there are none."""
    mean, se, n = mean_se_n(values)
    if n == 0:
        return empty
    return f"{mean:.{digits}f} ± {se:.{digits}f}"

"""Plot helpers for reproductions' ``plots`` functions: learning curves and bar charts over seeds.

Every helper draws the mean over seeds with its standard error (a shaded band for curves, an error
bar for bars), writes one PNG with matplotlib's Agg backend (no display needed) and returns its
path. matplotlib is imported inside the functions, so importing this module is cheap.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from guardopt.reproduce.spec import Results


def mean_se(values: Sequence[float] | np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard error of the mean over ``axis``, ignoring NaN.

    The standard error is ``std(ddof=1) / sqrt(n)`` with ``n`` the non-NaN count; it is 0 for a single
    value and NaN where there is none.

    Args:
        values: Array of shape ``(seeds,)`` or ``(seeds, T)``.
        axis: The seed axis.

    Returns:
        ``(mean, se)``, each with the seed axis removed.
    """
    x = np.asarray(values, dtype=float)
    n = np.sum(~np.isnan(x), axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        total = np.nansum(x, axis=axis)
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        dev = np.where(np.isnan(x), 0.0, x - np.expand_dims(mean, axis))
        var = np.sum(dev**2, axis=axis) / np.maximum(n - 1, 1)
        se = np.where(n > 1, np.sqrt(var / np.maximum(n, 1)), np.where(n == 1, 0.0, np.nan))
    return mean, se


def pyplot() -> Any:
    """``matplotlib.pyplot`` on the Agg backend (imported here, so that importing this module is cheap)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


_pyplot = pyplot  # the name reproductions used first


def panel_row(n: int, figsize: tuple[float, float]) -> tuple[Any, list[Any]]:
    """A figure with ``n`` panels side by side.

    Returns:
        ``(fig, axes)`` with ``axes`` a list of ``n`` matplotlib Axes (also for ``n = 1``).
    """
    fig, axes = pyplot().subplots(1, n, figsize=figsize)
    return fig, list(np.atleast_1d(axes))


def save_figure(fig: Any, path: str | Path, dpi: int = 110) -> Path:
    """Lay out ``fig``, write it as a PNG to ``path`` (creating its folder), close it, return the path."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(out, dpi=dpi)
    pyplot().close(fig)
    return out


def learning_curves(
    results: Results,
    curve: str,
    path: str | Path,
    *,
    tasks: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    x: Sequence[float] | None = None,
    xlabel: str = "round",
    ylabel: str | None = None,
    title: str | None = None,
    logy: bool = False,
) -> Path:
    """One panel per task, one line per method: the mean curve over seeds with a ± SE band.

    Args:
        results: Stored results.
        curve: Name of the curve (``CellResult.curves`` key), shape ``(T,)`` per cell.
        path: PNG file to write (its folder is created).
        tasks, methods: Subsets to draw (default: all, in declared order).
        x: x values of length ``T`` (default ``1..T``).
        xlabel, ylabel, title: Labels (``ylabel`` defaults to the curve name).
        logy: Log scale on y.

    Returns:
        The PNG path.
    """
    plt = pyplot()
    tasks = list(tasks or results.tasks)
    methods = list(methods or results.methods)
    cols = min(3, len(tasks)) or 1
    rows = math.ceil(len(tasks) / cols) or 1
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, task in zip(axes.flat, tasks):
        for method in methods:
            data = results.curves(curve, task, method)
            if data.size == 0:
                continue
            mean, se = mean_se(data, axis=0)
            xs = np.asarray(x, dtype=float)[: len(mean)] if x is not None else np.arange(1, len(mean) + 1)
            (line,) = ax.plot(xs, mean, label=f"{method} (n={data.shape[0]})")
            ax.fill_between(xs, mean - se, mean + se, color=line.get_color(), alpha=0.2, linewidth=0)
        ax.set_title(task, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel or curve)
        if logy:
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    for ax in list(axes.flat)[len(tasks):]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    if title:
        fig.suptitle(title)
    return save_figure(fig, path)


def bar_chart(
    results: Results,
    metric: str,
    path: str | Path,
    *,
    tasks: Sequence[str] | None = None,
    methods: Sequence[str] | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    hline: float | None = None,
    hline_label: str | None = None,
) -> Path:
    """Grouped bars: one group per task, one bar per method, mean over seeds with ± SE error bars.

    Args:
        results: Stored results.
        metric: Scalar metric name.
        path: PNG file to write (its folder is created).
        tasks, methods: Subsets to draw (default: all, in declared order).
        ylabel, title: Labels (``ylabel`` defaults to the metric name).
        hline: Optional reference level drawn as a dashed line (e.g. a threshold delta).
        hline_label: Legend label of that line.

    Returns:
        The PNG path.
    """
    plt = pyplot()
    tasks = list(tasks or results.tasks)
    methods = list(methods or results.methods)
    width = 0.8 / max(len(methods), 1)
    fig, ax = plt.subplots(figsize=(min(14.0, max(6.0, 0.3 * len(tasks) * max(len(methods), 1) + 2)), 4.2))
    idx = np.arange(len(tasks))
    for j, method in enumerate(methods):
        means, ses = [], []
        for task in tasks:
            m, s = mean_se(results.metric(metric, task, method))
            means.append(float(m))
            ses.append(float(s))
        ax.bar(idx + (j - (len(methods) - 1) / 2) * width, means, width, yerr=ses, capsize=2, label=method)
    if hline is not None:
        ax.axhline(hline, color="black", linestyle="--", linewidth=1, label=hline_label)
    ax.set_xticks(idx)
    ax.set_xticklabels(tasks, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel(ylabel or metric)
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    return save_figure(fig, path)

"""Figures of a stored study (matplotlib, drawn off-screen with the Agg canvas).

Every ``plot_*`` draws the rows of the matching ``*_table`` (see `guardopt.viz.tables`) and returns
a `matplotlib.figure.Figure`. Figures are built without ``pyplot``, so plotting never changes the
user's matplotlib backend or global state; save one with ``fig.savefig(path)``.

Colours are the same everywhere: feasible trials blue circles, infeasible (a constraint violated or
not measured) red crosses, failed or pruned trials grey.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from guardopt.core.errors import UnsupportedError
from guardopt.core.space import Choice
from guardopt.core.trial import TrialState
from guardopt.viz.importance import Method, importance_table
from guardopt.viz.tables import (
    StudyData,
    Table,
    _pair,
    _require,
    _single_objective,
    constraints_table,
    contour_table,
    history_table,
    is_log,
    option_index,
    pareto_table,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes

    from guardopt.core.study import Study

FEASIBLE: dict[str, Any] = {"color": "tab:blue", "marker": "o", "s": 28, "label": "feasible"}
INFEASIBLE: dict[str, Any] = {"color": "tab:red", "marker": "x", "s": 34, "label": "infeasible"}


#: Beyond this spread a linear axis cannot be drawn (matplotlib's ticks overflow); such axes are symlog.
EXTREME_SPREAD = 1e100


def _fit_axis(ax: Axes, values: Any, axis: str = "y") -> None:
    """Switch an axis to symlog when its values span more than `EXTREME_SPREAD` (e.g. a diverged 1e308)."""
    v = np.asarray([x for x in values if x is not None], dtype=float)
    v = v[np.isfinite(v)]
    if _extreme(v):
        (ax.set_yscale if axis == "y" else ax.set_xscale)("symlog")
        # Autoscaling adds a margin, which overflows at the float64 limit: the data's own range instead.
        (ax.set_ylim if axis == "y" else ax.set_xlim)(float(np.min(v)), float(np.max(v)))


def _extreme(values: Any) -> bool:
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return False
    with np.errstate(over="ignore"):
        spread = float(np.max(v)) - float(np.min(v))
    return not math.isfinite(spread) or spread > EXTREME_SPREAD or float(np.max(np.abs(v))) > EXTREME_SPREAD


def _colour_values(values: Any) -> tuple[np.ndarray, str]:
    """Values for a colour scale: the values themselves, or their ranks when they are too extreme to map."""
    v = np.asarray(values, dtype=float)
    if _extreme(v):
        from scipy.stats import rankdata

        ranks = np.full(v.shape, math.nan)  # a NaN would make every rank NaN: rank the finite values only
        finite = np.isfinite(v)
        ranks[finite] = rankdata(v[finite])
        return ranks, "objective rank (values beyond ±1e100)"
    return v, "objective"


def _figure(width: float = 7.0, height: float = 4.2) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def _scatter_feasibility(ax: Axes, x: Any, y: Any, feasible: Sequence[bool],
                         legend: bool = True) -> None:
    xs, ys, fs = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(feasible, dtype=bool)
    if fs.any():
        ax.scatter(xs[fs], ys[fs], **FEASIBLE)
    if (~fs).any():
        ax.scatter(xs[~fs], ys[~fs], **INFEASIBLE)
    if legend and len(xs):
        ax.legend(loc="best", fontsize=8)


def _why_empty(data: StudyData) -> str | None:
    """The text an objective plot carries when no trial is completed (it is then empty), else None."""
    if data.complete:
        return None
    others = [t.state.value.lower() for t in data.trials if t.state is not TrialState.COMPLETE]
    counts = ", ".join(f"{others.count(s)} {s}" for s in dict.fromkeys(others))
    return "no completed trials" + (f" ({counts})" if counts else " (the study has no trials)")


def _say_empty(ax: Axes, text: str) -> None:
    ax.text(0.5, 0.5, text, transform=ax.transAxes, ha="center", va="center", fontsize=10, color="0.35",
            wrap=True)


def plot_history(study: Study | StudyData) -> Figure:
    """Objective value per trial, feasible and infeasible marked, with the best feasible value so far.

    Failed and pruned trials (no value) are grey ticks along the bottom of the axes; trials still
    RUNNING are not drawn. Without a completed trial the axes say so (e.g. "no completed trials (3 failed)").
    """
    data = StudyData.of(study)
    table = history_table(data)
    fig = _figure()
    ax = fig.add_subplot()
    rows = table.as_dicts()
    done = [r for r in rows if r["state"] == TrialState.COMPLETE.value]
    _scatter_feasibility(ax, [r["number"] for r in done], [r["value"] for r in done],
                         [r["feasible"] for r in done], legend=False)
    best = [(r["number"], r["best_feasible"]) for r in rows if r["best_feasible"] is not None]
    if best:
        ax.step([b[0] for b in best], [b[1] for b in best], where="post", color="tab:green", lw=1.6,
                label="best feasible so far")
    other = [r["number"] for r in rows if r["state"] in (TrialState.FAILED.value, TrialState.PRUNED.value)]
    if other:
        ax.scatter(other, [0.0] * len(other), marker="|", s=120, color="0.55",
                   transform=ax.get_xaxis_transform(), clip_on=False, label="failed / pruned")
    _fit_axis(ax, [r["value"] for r in done])
    ax.set_xlabel("trial")
    ax.set_ylabel(f"objective ({data.direction})")
    ax.set_title(table.title)
    if rows:
        ax.legend(loc="best", fontsize=8)
    empty = _why_empty(data)
    if empty is not None:
        _say_empty(ax, empty)
    ax.grid(alpha=0.3)
    return fig


def plot_importance(study: Study | StudyData, method: Method = "auto", seed: int = 0,
                    table: Table | None = None) -> Figure:
    """Horizontal bars of each parameter's importance (see `guardopt.viz.importance_table`).

    Args:
        study: The study.
        method, seed: As in `importance_table`.
        table: An `importance_table` already computed for this study (it is then drawn as is).
    """
    if table is None:
        table = importance_table(study, method=method, seed=seed)
    names = table.column("parameter")[::-1]
    values = table.column("importance")[::-1]
    fig = _figure(6.5, 0.5 + 0.45 * max(len(names), 2))
    ax = fig.add_subplot()
    bars = ax.barh(names, values, color="tab:blue")
    ax.bar_label(bars, labels=[f"{v:.2f}" for v in values], padding=3, fontsize=8)
    ax.set_xlim(0, max([*values, 1e-9]) * 1.18)
    ax.set_xlabel("importance (share of the total)")
    ax.set_title(f"{table.title}\n{table.note}", fontsize=10)
    return fig


def _axis_values(data: StudyData, name: str, values: Sequence[Any]) -> tuple[np.ndarray, list[str] | None]:
    p = data.space.params[name]
    if isinstance(p, Choice):
        return np.array([option_index(data, name, v) for v in values], dtype=float), [str(o) for o in p.options]
    return np.array(values, dtype=float), None


def plot_slice(study: Study | StudyData) -> Figure:
    """One panel per parameter: objective value against the parameter's value (active trials only).

    Without a completed trial every panel says so (e.g. "no completed trials (3 failed)").
    """
    data = StudyData.of(study)
    _single_objective(data, "slice plot")
    done = data.complete
    empty = _why_empty(data)
    names = data.names
    ncols = min(len(names), 3)
    nrows = math.ceil(len(names) / ncols)
    fig = _figure(3.4 * ncols, 2.9 * nrows)
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for k, name in enumerate(names):
        ax = axes[k // ncols][k % ncols]
        active = [(t, f) for t, f in done if name in t.params]
        x, labels = _axis_values(data, name, [t.params[name] for t, _ in active])
        _scatter_feasibility(ax, x, [t.value for t, _ in active], [f for _, f in active], legend=False)
        _fit_axis(ax, [t.value for t, _ in active])
        if labels is not None:
            ax.set_xticks(range(len(labels)), labels, rotation=30 if len(labels) > 3 else 0)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        elif is_log(data, name):
            ax.set_xscale("log")
        ax.set_xlabel(name + ("" if len(active) == len(done) else f" (active in {len(active)}/{len(done)})"))
        ax.grid(alpha=0.3)
        if empty is not None:
            _say_empty(ax, empty)
        if k % ncols == 0:
            ax.set_ylabel("objective")
    for k in range(len(names), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    handles = [axes[0][0].scatter([], [], **FEASIBLE), axes[0][0].scatter([], [], **INFEASIBLE)]
    fig.legend(handles=handles, loc="outside upper right", fontsize=8, ncols=2)
    fig.suptitle(f"Slice plot of {data.name}")
    return fig


def plot_contour(study: Study | StudyData, x: str | None = None, y: str | None = None) -> Figure:
    """Objective over two numeric parameters: a filled contour interpolated on the trials, and the trials.

    The contour is a linear interpolation on a Delaunay triangulation of the evaluated points (log
    parameters in log10 units); with fewer than 3 points in general position only the points are drawn.
    Trials with a NaN or infinite value are drawn as points but left out of the surface.

    Raises:
        UnsupportedError: fewer than two numeric parameters, no completed trial, or none in which both
            parameters are active.
        InvalidParameterError: ``x`` or ``y`` is not a numeric parameter of the space.
    """
    data = StudyData.of(study)
    x, y = _pair(data, x, y)
    rows = contour_table(data, x, y).as_dicts()
    _require(data, 1, "contour plot")
    if not rows:
        raise UnsupportedError(f"No completed trial of study {data.name!r} has both {x!r} and {y!r} active; "
                               "there is nothing to draw (pick other parameters with x= and y=).")
    xs = np.array([r[x] for r in rows], dtype=float)
    ys = np.array([r[y] for r in rows], dtype=float)
    zs, zlabel = _colour_values([r["value"] for r in rows])
    lx, ly = is_log(data, x), is_log(data, y)
    px, py = (np.log10(xs) if lx else xs), (np.log10(ys) if ly else ys)
    fig = _figure(6.0, 4.8)
    ax = fig.add_subplot()
    cmap = "viridis" if data.direction == "maximize" else "viridis_r"
    finite = np.isfinite(zs)  # one NaN or inf value would make matplotlib refuse the whole surface
    try:
        cs = ax.tricontourf(px[finite], py[finite], zs[finite], levels=14, cmap=cmap, alpha=0.85)
        fig.colorbar(cs, ax=ax, label=f"{zlabel} (interpolated)")
    except (ValueError, RuntimeError):  # too few points, or all on a line: no triangulation
        pass
    feasible = np.array([r["feasible"] for r in rows], dtype=bool)
    ax.scatter(px[feasible], py[feasible], c="white", edgecolors="black", s=26, label="feasible")
    ax.scatter(px[~feasible], py[~feasible], color="tab:red", marker="x", s=34, label="infeasible")
    ax.set_xlabel(f"log10 {x}" if lx else x)
    ax.set_ylabel(f"log10 {y}" if ly else y)
    ax.set_title(f"Contour of the objective over {x} and {y} ({data.name})", fontsize=10)
    ax.legend(loc="best", fontsize=8)
    return fig


def plot_parallel_coordinates(study: Study | StudyData) -> Figure:
    """One line per completed trial across every parameter's axis and the objective, coloured by value.

    Each axis is scaled to [0, 1] over the parameter's range (log scale kept; a choice by its option
    index). Infeasible trials are grey dashed lines, feasible ones with a NaN or infinite value grey
    solid lines; an inactive parameter (or a non-finite value) leaves a gap in the line.
    """
    data = StudyData.of(study)
    done = _require(data, 1, "parallel coordinate plot")
    names = data.names
    raw = np.array([t.value for t, _ in done], dtype=float)
    values, vlabel = _colour_values(raw)
    # The scales are those of the finite values: one NaN once made every line's colour NaN (invisible).
    shown = np.isfinite(values)
    raw_lo, raw_hi = (float(np.min(raw[shown])), float(np.max(raw[shown]))) if shown.any() else (math.nan, math.nan)
    lo, hi = (float(np.min(values[shown])), float(np.max(values[shown]))) if shown.any() else (0.0, 0.0)
    span = hi - lo if hi > lo else 1.0
    fig = _figure(max(6.0, 1.5 * (len(names) + 1)), 4.4)
    ax = fig.add_subplot()
    from matplotlib import colormaps
    from matplotlib.cm import ScalarMappable
    from matplotlib.colors import Normalize

    cmap = colormaps["viridis" if data.direction == "maximize" else "viridis_r"]
    norm = Normalize(lo, lo + span)
    xs = np.arange(len(names) + 1)
    for (t, feasible), v in sorted(zip(done, values), key=lambda item: item[0][1]):
        ys = [_unit(data, n, t.params[n]) if n in t.params else math.nan for n in names]
        ys.append((v - lo) / span)
        if feasible and math.isfinite(v):
            ax.plot(xs, ys, color=cmap(norm(v)), lw=1.3, alpha=0.9)
        elif feasible:  # a NaN or infinite value: no colour, a gap on the objective axis
            ax.plot(xs, ys, color="0.6", lw=1.0, alpha=0.8)
        else:
            ax.plot(xs, ys, color="0.6", lw=1.0, ls="--", alpha=0.8)
    for i, name in enumerate(names):
        ax.axvline(i, color="black", lw=0.8)
        low, high = _range_labels(data, name)
        ax.annotate(low, (i, 0), xytext=(3, -12), textcoords="offset points", fontsize=7)
        ax.annotate(high, (i, 1), xytext=(3, 4), textcoords="offset points", fontsize=7)
    ax.axvline(len(names), color="black", lw=0.8)
    ax.annotate(f"{raw_lo:.4g}", (len(names), 0), xytext=(3, -12), textcoords="offset points", fontsize=7)
    ax.annotate(f"{raw_hi:.4g}", (len(names), 1), xytext=(3, 4), textcoords="offset points", fontsize=7)
    ax.set_xticks(xs, [*names, "objective"])
    ax.set_yticks([])
    ax.set_ylim(-0.12, 1.12)
    ax.set_xlim(-0.2, len(names) + 0.5)
    fig.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, label=vlabel)
    infeasible = sum(not f for _, f in done)
    ax.set_title(f"Parallel coordinates of {data.name}" + (f" ({infeasible} infeasible, grey dashed)"
                                                            if infeasible else ""), fontsize=10)
    return fig


def _unit(data: StudyData, name: str, value: Any) -> float:
    p = data.space.params[name]
    if isinstance(p, Choice):
        return option_index(data, name, value) / max(len(p.options) - 1, 1)
    return float(np.clip(p.encode(value)[0], 0.0, 1.0))


def _range_labels(data: StudyData, name: str) -> tuple[str, str]:
    p = data.space.params[name]
    if isinstance(p, Choice):
        return str(p.options[0]), str(p.options[-1])
    return f"{p.low:.3g}", f"{p.high:.3g}"


def plot_constraints(study: Study | StudyData) -> Figure:
    """One panel per declared constraint: its measured value per trial, the limit, and the violating side shaded.

    A constraint that was not measured (or NaN) is an orange diamond on the limit line, an infinite
    one a purple triangle on it: both count as violated (fail closed).

    Raises:
        UnsupportedError: the study declares no constraints.
    """
    data = StudyData.of(study)
    rows = constraints_table(data).as_dicts()
    names = list(data.constraints)
    fig = _figure(7.0, 2.8 * len(names) + 0.6)
    axes = fig.subplots(len(names), 1, squeeze=False, sharex=True)
    for ax, name in zip(axes[:, 0], names):
        op, limit = data.constraints[name]
        mine = [r for r in rows if r["constraint"] == name]
        measured = [r for r in mine if r["value"] is not None and math.isfinite(r["value"])]
        infinite = [r for r in mine if r["value"] is not None and math.isinf(r["value"])]
        missing = [r for r in mine if r not in measured and r not in infinite]
        ok = [r for r in measured if r["satisfied"]]
        bad = [r for r in measured if not r["satisfied"]]
        if ok:
            ax.scatter([r["number"] for r in ok], [r["value"] for r in ok], color="tab:blue", s=26,
                       label="satisfied")
        if bad:
            ax.scatter([r["number"] for r in bad], [r["value"] for r in bad], color="tab:red", marker="x",
                       s=34, label="violated")
        if missing:
            ax.scatter([r["number"] for r in missing], [limit] * len(missing), color="tab:orange", marker="D",
                       s=26, label="not measured (violated)")
        if infinite:
            ax.scatter([r["number"] for r in infinite], [limit] * len(infinite), color="tab:purple", marker="^",
                       s=30, label="infinite (violated)")
        ax.axhline(limit, color="black", ls="--", lw=1.2, label=f"limit {op} {limit:g}")
        _fit_axis(ax, [limit, *[r["value"] for r in measured]])
        ymin, ymax = ax.get_ylim()
        if op == "<=":
            ax.axhspan(limit, max(ymax, limit), color="tab:red", alpha=0.08)
        else:
            ax.axhspan(min(ymin, limit), limit, color="tab:red", alpha=0.08)
        ax.set_ylim(ymin, ymax)
        ax.set_ylabel(name)
        ax.grid(alpha=0.3)
        ax.legend(loc="best", fontsize=8)
    axes[-1, 0].set_xlabel("trial")
    fig.suptitle(f"Constraint values against their limits ({data.name}; shaded: violating side)", fontsize=10)
    return fig


def plot_pareto_front(study: Study | StudyData) -> Figure:
    """The first two objectives of a multi-objective study, the non-dominated trials joined.

    Raises:
        UnsupportedError: the study has a single objective.
    """
    table = pareto_table(study)
    cols = [c for c in table.columns if c.startswith("objective_")]
    rows = table.as_dicts()
    fig = _figure(6.0, 4.6)
    ax = fig.add_subplot()
    front = sorted((r for r in rows if r["on_front"]), key=lambda r: r[cols[0]])
    rest = [r for r in rows if not r["on_front"]]
    ax.scatter([r[cols[0]] for r in rest], [r[cols[1]] for r in rest], color="0.6", s=22, label="dominated")
    ax.plot([r[cols[0]] for r in front], [r[cols[1]] for r in front], "-o", color="tab:blue", ms=6,
            label="Pareto front")
    infeasible = [r for r in rows if not r["feasible"]]
    if infeasible:
        ax.scatter([r[cols[0]] for r in infeasible], [r[cols[1]] for r in infeasible], color="tab:red",
                   marker="x", s=40, label="infeasible")
    ax.set_xlabel(cols[0])
    ax.set_ylabel(cols[1])
    extra = f" (first 2 of {len(cols)} objectives)" if len(cols) > 2 else ""
    ax.set_title(table.title + extra, fontsize=10)
    ax.legend(loc="best", fontsize=8)
    ax.grid(alpha=0.3)
    return fig

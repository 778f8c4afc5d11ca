"""guardopt.viz: plots of stored studies, each with the same data as a plain table.

| figure | table | what it shows |
|---|---|---|
| `plot_history` | `history_table` | objective per trial, feasible / infeasible marked, best feasible so far |
| `plot_importance` | `importance_table` | importance (Optuna's fANOVA, else permutation importance) |
| `plot_slice` | `slice_table` | objective against each parameter |
| `plot_contour` | `contour_table` | objective over two numeric parameters |
| `plot_parallel_coordinates` | `parallel_coordinates_table` | every trial across all parameters |
| `plot_constraints` | `constraints_table` | each constraint's measured values against its limit |
| `plot_pareto_front` | `pareto_table` | non-dominated trials of a multi-objective study |

`write_study_plots(study, out_dir)` writes every figure (PNG) and table (CSV) that applies and says
why the others were skipped. matplotlib is drawn off-screen (Agg) without touching ``pyplot``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from guardopt.core.errors import GuardoptError, InvalidParameterError, UnsupportedError
from guardopt.viz.importance import Method, importance_table
from guardopt.viz.plots import (
    plot_constraints,
    plot_contour,
    plot_history,
    plot_importance,
    plot_parallel_coordinates,
    plot_pareto_front,
    plot_slice,
)
from guardopt.viz.tables import (
    StudyData,
    Table,
    constraints_table,
    contour_table,
    history_table,
    parallel_coordinates_table,
    pareto_mask,
    pareto_table,
    slice_table,
)

if TYPE_CHECKING:
    from guardopt.core.study import Study

#: Every plot `write_study_plots` tries, in order: name -> (figure function, table function).
PLOTS = {
    "history": (plot_history, history_table),
    "importance": (plot_importance, importance_table),
    "slice": (plot_slice, slice_table),
    "contour": (plot_contour, contour_table),
    "parallel_coordinates": (plot_parallel_coordinates, parallel_coordinates_table),
    "constraints": (plot_constraints, constraints_table),
    "pareto_front": (plot_pareto_front, pareto_table),
}


def write_study_plots(study: Study | StudyData, out_dir: str | Path, dpi: int = 110,
                      importance: Method = "auto") -> dict[str, Path | str]:
    """Write ``<name>.png`` and ``<name>.csv`` for every plot that applies to the study.

    Args:
        study: A guardopt `Study` (e.g. ``Study.load(name, storage)``).
        out_dir: The folder (created when missing).
        dpi: Resolution of the PNG files.
        importance: The importance method (see `importance_table`).

    Returns:
        ``{plot name: path of the PNG}`` for the plots written and ``{plot name: reason}`` (a string)
        for those skipped (e.g. no constraints declared, a single objective, too few trials).
    """
    if isinstance(dpi, bool) or not isinstance(dpi, int) or dpi < 10:
        raise InvalidParameterError("dpi", "write_study_plots", "an integer >= 10", dpi)
    data = StudyData.of(study)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path | str] = {}
    for name, (plot, table) in PLOTS.items():
        try:
            with np.errstate(all="ignore"):  # matplotlib's own overflow warnings near the float64 limit
                fig, rows = _draw(data, plot, table, importance)
        except (UnsupportedError, InvalidParameterError) as exc:
            written[name] = str(exc)
            continue
        except GuardoptError as exc:  # pragma: no cover - any other library refusal: say it, go on
            written[name] = f"{type(exc).__name__}: {exc}"
            continue
        path = out / f"{name}.png"
        with np.errstate(all="ignore"):
            fig.savefig(path, dpi=dpi)
        (out / f"{name}.csv").write_text(rows.to_csv(), encoding="utf-8")
        written[name] = path
    return written


def _draw(data: StudyData, plot: Any, table: Any, importance: Method) -> tuple[Any, Table]:
    if plot is plot_importance:
        # The one costly table (a random forest): computed once, drawn from these rows.
        rows = importance_table(data, method=importance)
        return plot_importance(data, table=rows), rows
    rows = table(data)
    return plot(data), rows


__all__ = [
    "PLOTS",
    "StudyData",
    "Table",
    "constraints_table",
    "contour_table",
    "history_table",
    "importance_table",
    "parallel_coordinates_table",
    "pareto_mask",
    "pareto_table",
    "plot_constraints",
    "plot_contour",
    "plot_history",
    "plot_importance",
    "plot_parallel_coordinates",
    "plot_pareto_front",
    "plot_slice",
    "slice_table",
    "write_study_plots",
]

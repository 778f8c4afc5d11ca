"""guardopt.viz on the studies a user meets besides the tidy ones: non-finite stored values, running
trials, flat objectives, multi-objective studies, conditional parameters that never meet, typos in a URL."""

from __future__ import annotations

import math

import numpy as np
import pytest

import guardopt as go
from guardopt.core.errors import StorageError, UnsupportedError
from guardopt.core.trial import Trial, TrialState
from guardopt.viz import (
    StudyData,
    Table,
    history_table,
    importance_table,
    plot_contour,
    plot_history,
    plot_parallel_coordinates,
    plot_slice,
    write_study_plots,
)

SPACE = go.Space({"x": go.Real(0.0, 1.0), "y": go.Real(0.0, 1.0)})


def _data(values: list[float | None], states: dict[int, TrialState] | None = None) -> StudyData:
    """Unconstrained trials with the given stored values (as another writer might store them)."""
    rng = np.random.default_rng(0)
    trials = []
    for i, v in enumerate(values):
        state = (states or {}).get(i, TrialState.COMPLETE)
        trials.append(Trial(i, {"x": float(rng.random()), "y": float(rng.random())}, state,
                            v if state is TrialState.COMPLETE else None))
    return StudyData("edge", "minimize", SPACE, {}, trials, [t.state is TrialState.COMPLETE for t in trials])


def test_a_non_finite_value_is_never_the_best_so_far():
    # -inf (a diverged minimization) once became the best feasible value for good; the dashboard's best
    # card and Study.tell leave non-finite values out.
    table = history_table(_data([1.0, math.inf, 2.0, -math.inf, 0.5, math.nan]))
    assert table.column("best_feasible") == [1.0, 1.0, 1.0, 1.0, 0.5, 0.5]


def test_running_trials_are_not_drawn_as_failed():
    data = _data([1.0, None, None, 2.0], states={1: TrialState.FAILED, 2: TrialState.RUNNING})
    ticks = [c for c in plot_history(data).axes[0].collections if c.get_label() == "failed / pruned"]
    assert len(ticks) == 1 and len(ticks[0].get_offsets()) == 1  # trial 1 only, not the running trial 2


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_one_non_finite_value_leaves_the_other_lines_coloured(bad):
    values = [float(v) for v in np.linspace(0.0, 1.0, 8)]
    values[3] = bad
    lines = [ln for ln in plot_parallel_coordinates(_data(values)).axes[0].get_lines() if len(ln.get_xdata()) > 2]
    colours = [ln.get_color() for ln in lines]
    coloured = [c for c in colours if not isinstance(c, str)]
    # Once, one NaN made every colour NaN: all 8 lines were transparent.
    assert len(coloured) == 7 and all(c[3] > 0 for c in coloured)
    assert colours.count("0.6") == 1


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_ranked_colours_survive_a_nan():
    values = [1e308, -1e308, 0.0, 1.0, math.nan]
    lines = [ln for ln in plot_parallel_coordinates(_data(values)).axes[0].get_lines() if len(ln.get_xdata()) > 2]
    assert sum(not isinstance(ln.get_color(), str) and ln.get_color()[3] > 0 for ln in lines) == 4


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_one_non_finite_value_keeps_the_contour_surface(bad):
    values = [float(v) for v in np.linspace(0.0, 1.0, 12)]
    values[5] = bad
    fig = plot_contour(_data(values))
    assert any(type(c).__name__ == "TriContourSet" for c in fig.axes[0].collections)


def test_a_contour_of_parameters_never_active_together_is_refused():
    space = go.Space({"k": go.Choice(["a", "b"]), "g": go.Real(0.0, 1.0, when={"k": "b"}),
                      "h": go.Real(0.0, 1.0, when={"k": "a"})})
    study = go.Study(space, name="cond", optimizer=go.RandomSearch(seed=0))
    for _ in range(8):
        t = study.ask()
        study.tell(t, t.params.get("g", 0.0) + t.params.get("h", 0.0))
    with pytest.raises(UnsupportedError, match="both 'g' and 'h' active"):
        plot_contour(study)


def test_the_slice_plot_refuses_a_multi_objective_study():
    study = go.Study(SPACE, name="mo", directions=["minimize", "maximize"], optimizer=go.RandomSearch(seed=0))
    for _ in range(4):
        t = study.ask()
        study.tell(t, [t.params["x"], t.params["y"]])
    with pytest.raises(UnsupportedError, match="slice plot shows one objective"):
        plot_slice(study)


@pytest.mark.parametrize("method", ["fanova", "permutation"])
@pytest.mark.parametrize("values", [[1.0] * 6, [0.0, 0.0, 0.0, 0.0, 0.0, 1e-300]])
def test_importance_of_a_flat_objective_is_zero_not_a_crash(method, values, tmp_path):
    if method == "fanova":
        pytest.importorskip("optuna")
    study = go.Study(SPACE, name="flat", optimizer=go.RandomSearch(seed=0))
    for v in values:
        study.tell(study.ask(), v)
    # Optuna's fANOVA raised RuntimeError("Encountered zero total variance in all trees."), which also
    # stopped write_study_plots (and `guardopt study plot`) before any figure after the history.
    table = importance_table(study, method=method)
    assert sorted(table.rows) == [("x", 0.0), ("y", 0.0)] and "every importance is 0" in table.note
    written = write_study_plots(study, tmp_path, dpi=20, importance=method)
    assert written["importance"] == tmp_path / "importance.png"


def test_study_data_load_never_creates_a_storage(tmp_path):
    typo = tmp_path / "typo" / "studies.db"
    with pytest.raises(StorageError, match="No SQLite storage"):
        StudyData.load("demo", f"sqlite:///{typo}")
    assert not typo.exists() and not typo.parent.exists()


def test_markdown_escapes_a_bar_in_a_column_name():
    md = Table("t", ("a|b", "c"), ((1, 2),)).to_markdown()
    assert "| a\\|b | c |" in md

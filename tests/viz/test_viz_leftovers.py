"""viz leftovers of the audit: tuple options read back from JSON storage, infinite constraint values,
all-NaN importance, and empty figures that say why."""

from __future__ import annotations

import math
import warnings
from dataclasses import replace
from pathlib import Path

import matplotlib
import numpy as np
import pytest

import guardopt as go
from guardopt.core.errors import InputDataError, UnsupportedError
from guardopt.core.trial import Trial, TrialState
from guardopt.viz import (
    StudyData,
    constraints_table,
    importance_table,
    plot_constraints,
    plot_history,
    plot_parallel_coordinates,
    plot_slice,
    write_study_plots,
)

matplotlib.use("Agg")

TUPLE_SPACE = go.Space({"x": go.Real(0.0, 1.0), "shape": go.Choice([(1, 2), (3, 4)])})
SPACE = go.Space({"x": go.Real(0.0, 1.0), "y": go.Real(0.0, 1.0)})


def _tuple_study(tmp_path: Path) -> go.Study:
    url = f"sqlite:///{tmp_path / 'tuples.db'}"
    study = go.Study(TUPLE_SPACE, name="tuples", storage=url, optimizer=go.RandomSearch(seed=0))
    for _ in range(8):
        t = study.ask()
        study.tell(t, t.params["x"] + t.params["shape"][0])
    return study


def test_a_stored_tuple_option_is_plotted_as_that_option(tmp_path: Path) -> None:
    study = _tuple_study(tmp_path)
    data = StudyData.of(study)
    assert data.space.params["shape"].options == ((1, 2), (3, 4))
    assert all(isinstance(t.params["shape"], list) for t in data.trials)  # what JSON storage gives back
    plot_slice(data)
    plot_parallel_coordinates(data)
    assert {r[0] for r in importance_table(data, method="permutation")} == {"x", "shape"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Optuna warns about tuple choices
        written = write_study_plots(study, tmp_path / "plots", importance="permutation")
    for name in ("history", "importance", "slice", "parallel_coordinates"):
        path = written[name]
        assert isinstance(path, Path) and path.exists(), path


def test_a_value_among_no_option_is_refused_naming_the_parameter(tmp_path: Path) -> None:
    data = StudyData.of(_tuple_study(tmp_path))
    bad = replace(data, trials=[replace(data.trials[0], params={**data.trials[0].params, "shape": [9, 9]}),
                                *data.trials[1:]])
    for plot in (plot_slice, plot_parallel_coordinates):
        with pytest.raises(InputDataError, match="'shape'"):
            plot(bad)


def _data(values: list[float | None], states: dict[int, TrialState] | None = None,
          constraint: list[float] | None = None) -> StudyData:
    trials = []
    for i, v in enumerate(values):
        state = (states or {}).get(i, TrialState.COMPLETE)
        cons = {} if constraint is None else {"c": constraint[i]}
        trials.append(Trial(i, {"x": 0.1 * i, "y": 0.05 * i}, state, v if state is TrialState.COMPLETE else None,
                            constraints=cons))
    limits = {} if constraint is None else {"c": ("<=", 1.0)}
    return StudyData("edge", "minimize", SPACE, limits, trials, [False] * len(trials))


def test_an_infinite_constraint_value_is_labelled_infinite_and_violated() -> None:
    data = _data([1.0, 2.0, 3.0], constraint=[0.5, math.inf, math.nan])
    assert constraints_table(data).column("satisfied") == [True, False, False]
    (ax,) = plot_constraints(data).axes
    labels = {str(c.get_label()): len(np.asarray(c.get_offsets())) for c in ax.collections
              if not str(c.get_label()).startswith("_")}
    assert labels["infinite (violated)"] == 1  # trial 1
    assert labels["not measured (violated)"] == 1  # trial 2 only (NaN)


def test_importance_of_all_nan_values_says_no_value_is_finite() -> None:
    with pytest.raises(UnsupportedError, match="no completed trial has a finite value") as info:
        importance_table(_data([math.nan] * 6), method="permutation")
    assert "it has 0" not in str(info.value)


def _texts(fig) -> list[str]:  # type: ignore[no-untyped-def]
    return [t.get_text() for ax in fig.axes if ax.get_visible() for t in ax.texts]


@pytest.mark.parametrize("states", [None, "failed"])
def test_empty_history_and_slice_figures_say_why(tmp_path: Path, states: str | None) -> None:
    study = go.Study(SPACE, name="empty", optimizer=go.RandomSearch(seed=0))
    if states == "failed":
        for _ in range(3):
            study.tell(study.ask(), RuntimeError("boom"))
    data = StudyData.of(study)
    for plot in (plot_history, plot_slice):
        texts = _texts(plot(data))
        assert texts and all(t.startswith("no completed trials") for t in texts), (plot.__name__, texts)
        if states == "failed":
            assert all("3 failed" in t for t in texts)
    written = write_study_plots(study, tmp_path / "out")
    assert isinstance(written["history"], Path) and isinstance(written["slice"], Path)


def test_a_study_with_completed_trials_has_no_empty_text() -> None:
    data = _data([1.0, 2.0, None], states={2: TrialState.FAILED})
    assert _texts(plot_history(data)) == [] and _texts(plot_slice(data)) == []

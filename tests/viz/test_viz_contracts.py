"""Fail-closed contract of guardopt.viz: extreme stored values give tables and figures, bad arguments a
GuardoptError naming them (built on `guardopt.testing.contracts`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

import guardopt as go
from guardopt.testing.contracts import adversarial_scalars, assert_contract, contract_settings, finite_floats
from guardopt.viz import (
    StudyData,
    constraints_table,
    contour_table,
    history_table,
    importance_table,
    plot_constraints,
    plot_history,
    plot_parallel_coordinates,
    plot_slice,
    write_study_plots,
)

SPACE = go.Space({"x": go.Real(0.0, 1.0), "y": go.Real(1e-3, 1.0, log=True)})


def _study(values: list[float], cons: list[float]) -> go.Study:
    study = go.Study(SPACE, constraints={"c": ("<=", 0.0)}, optimizer=go.RandomSearch(seed=0))
    for v, c in zip(values, cons):
        t = study.ask()
        study.tell(t, {"value": v, "c": c})
    return study


@contract_settings(scale=0.4)
@given(st.lists(finite_floats(-1e308, 1e308), min_size=1, max_size=5),
       st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=5, max_size=5))
def test_tables_of_extreme_values_are_fail_closed(values, cons):
    data = StudyData.of(_study(values, cons))
    history = history_table(data)
    assert len(history) == len(values)
    for row in constraints_table(data).as_dicts():
        assert row["satisfied"] is False or (row["value"] is not None and row["value"] <= 0.0)
    for feasible, state in zip(history.column("feasible"), history.column("state")):
        assert not feasible or state == "COMPLETE"


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # matplotlib's own overflow arithmetic at 1e308
def test_figures_of_values_at_the_float64_limit():
    # A diverged objective (1e308) once made matplotlib's ticks overflow: such axes are symlog now,
    # colour scales use ranks, and the importance is computed on ranks.
    data = StudyData.of(_study([1e308, -1e308, 5e-324, 0.0, 3.0], [0.0, -1.0, 1.0, 0.0, 0.0]))
    for plot in (plot_history, plot_slice, plot_parallel_coordinates, plot_constraints):
        plot(data).canvas.draw()
    assert "ranks" in importance_table(data, method="permutation").note


@contract_settings(scale=0.4)
@given(adversarial_scalars())
def test_bad_axis_names_are_named(x):
    data = StudyData.of(_study([1.0, 2.0], [0.0, 0.0]))
    assert_contract(contour_table, data, x=x, names=("x", "y"))


def test_bad_dpi_is_named(tmp_path):
    data = StudyData.of(_study([1.0, 2.0], [0.0, 0.0]))
    for dpi in (0, -1, 1.5, "x", None, True, float("nan")):
        out = assert_contract(write_study_plots, data, tmp_path, dpi=dpi, names=("dpi",))
        assert not out.ok

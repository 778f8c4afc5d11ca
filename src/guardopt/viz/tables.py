"""The data behind every plot of `guardopt.viz`, as plain tables.

Each ``*_table(study)`` returns a `Table`: a title, column names and rows of plain Python values.
The matching ``plot_*`` draws exactly these rows, so what a figure shows can be read, diffed and
tested as text (`Table.to_markdown`, `Table.to_csv`) or handed to pandas (`Table.to_dataframe`).

Conventions: a parameter that was inactive in a trial (a conditional parameter whose condition did
not hold) is ``None``; ``feasible`` is the study's fail-closed feasibility (a missing constraint value
is a violation); only COMPLETE trials have a value.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, UnsupportedError
from guardopt.core.problem import ProblemSpec
from guardopt.core.space import Choice, Real
from guardopt.core.trial import Trial, TrialState

if TYPE_CHECKING:
    import pandas as pd

    from guardopt.core.storage import Storage
    from guardopt.core.study import Study


@dataclass(frozen=True)
class Table:
    """A titled table of plain values.

    Attributes:
        title: What the table shows.
        columns: Column names.
        rows: One tuple per row, ``len(columns)`` values each.
        note: How the numbers were computed (e.g. which importance method), or ``""``.
    """

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]
    note: str = ""

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return iter(self.rows)

    def column(self, name: str) -> list[Any]:
        """The values of one column."""
        if name not in self.columns:
            raise InvalidParameterError("name", "Table.column", f"one of {list(self.columns)}", name)
        i = self.columns.index(name)
        return [r[i] for r in self.rows]

    def as_dicts(self) -> list[dict[str, Any]]:
        """The rows as ``{column: value}`` dicts."""
        return [dict(zip(self.columns, r)) for r in self.rows]

    def to_markdown(self) -> str:
        """A Markdown table (numbers with 4 significant digits, ``—`` for None)."""
        head = f"**{self.title}**" + (f" — {self.note}" if self.note else "")
        header = "| " + " | ".join(_cell(c) for c in self.columns) + " |"  # a name with '|' is escaped too
        lines = [head, "", header, "|" + "---|" * len(self.columns)]
        lines += ["| " + " | ".join(_cell(v) for v in r) + " |" for r in self.rows]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """CSV text with a header row (None as an empty field)."""
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.columns)
        w.writerows([["" if v is None else v for v in r] for r in self.rows])
        return buf.getvalue()

    def to_dataframe(self) -> pd.DataFrame:
        """A pandas DataFrame (needs pandas)."""
        import pandas as pd

        return pd.DataFrame(list(self.rows), columns=list(self.columns))


def _cell(v: Any) -> str:
    if v is None:
        return "—"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, float):
        return "nan" if math.isnan(v) else f"{v:.4g}"
    return str(v).replace("|", "\\|")


# ----------------------------------------------------------------------------- study data


@dataclass(frozen=True)
class StudyData:
    """What the plots read from a study: its trials with feasibility and the problem's declarations."""

    name: str
    direction: str
    space: Any
    constraints: dict[str, tuple[str, float]]
    trials: list[Trial]
    feasible: list[bool]
    directions: tuple[str, ...] = field(default=())

    @staticmethod
    def of(study: Study | StudyData) -> StudyData:
        """Read a `Study` once (the storage is queried a single time)."""
        if isinstance(study, StudyData):
            return study
        if not all(hasattr(study, a) for a in ("trials", "problem", "name")):
            raise InvalidParameterError("study", "guardopt.viz", "a guardopt Study", study)
        trials = list(study.trials)
        problem = study.problem
        directions = tuple(getattr(study, "directions", ()) or ())
        return StudyData(study.name, problem.direction, problem.space, dict(problem.constraints), trials,
                         [problem.is_feasible(t) for t in trials], directions)

    @staticmethod
    def load(name: str, storage: Storage | str) -> StudyData:
        """Read a stored study without resuming it (nothing is written to the storage).

        A URL is opened read-only (`guardopt.dashboard.open_read_only`): a SQLite file is neither
        created nor migrated.

        Raises:
            InvalidParameterError: no study of that name in the storage.
            UnsupportedError: its objective defines the space and no trial suggested a parameter yet.
            StorageError: the storage cannot be read (e.g. no such SQLite file).
        """
        from guardopt.core.storage import make_storage

        if isinstance(storage, str):
            from guardopt.dashboard.source import open_read_only

            store = open_read_only(storage)
        else:
            store = make_storage(storage)
        spec = store.get_spec(name)
        if spec is None:
            raise InvalidParameterError("name", "StudyData.load", f"one of {store.study_names()}", name)
        if not spec.get("space"):
            raise UnsupportedError(f"Study {name!r} has no stored space yet: its objective defines the space and "
                                   "no trial has suggested a parameter.")
        problem = ProblemSpec.from_dict(spec)
        trials = store.trials(name)
        return StudyData(name, problem.direction, problem.space, dict(problem.constraints), trials,
                         [problem.is_feasible(t) for t in trials], tuple(spec.get("directions") or ()))

    @property
    def complete(self) -> list[tuple[Trial, bool]]:
        """COMPLETE trials with their feasibility."""
        return [(t, f) for t, f in zip(self.trials, self.feasible) if t.state is TrialState.COMPLETE]

    @property
    def names(self) -> list[str]:
        return list(self.space.names)


def _single_objective(data: StudyData, what: str) -> None:
    """Plots of one objective value refuse a multi-objective study (its trials have ``values``, no ``value``)."""
    if len(data.directions) >= 2:
        raise UnsupportedError(f"The {what} shows one objective; study {data.name!r} has {len(data.directions)} "
                               "(see pareto_table / plot_pareto_front).")


def _require(data: StudyData, n: int, what: str) -> list[tuple[Trial, bool]]:
    _single_objective(data, what)
    done = data.complete
    if len(done) < n:
        raise UnsupportedError(f"The {what} of study {data.name!r} needs at least {n} completed trials; "
                               f"it has {len(done)}.")
    return done


def _best_so_far(values: Sequence[float], feasible: Sequence[bool], minimize: bool) -> list[float | None]:
    out: list[float | None] = []
    best: float | None = None
    for v, f in zip(values, feasible):
        # A non-finite value (another writer's NaN or a diverged inf) is no result to recommend.
        if f and math.isfinite(v) and (best is None or (v < best if minimize else v > best)):
            best = v
        out.append(best)
    return out


# ----------------------------------------------------------------------------------- tables


def history_table(study: Study | StudyData) -> Table:
    """Every trial in order: state, value, feasibility and the best feasible value so far.

    Columns: ``number, state, value, feasible, best_feasible`` (the best finite value of a feasible
    trial up to this one, None before the first).
    """
    data = StudyData.of(study)
    _single_objective(data, "optimization history")
    values = [t.value if t.value is not None else math.nan for t in data.trials]
    best = _best_so_far(values, data.feasible, data.direction == "minimize")
    rows = tuple((t.number, t.state.value, t.value, f, b) for t, f, b in zip(data.trials, data.feasible, best))
    return Table(f"Optimization history of {data.name} ({data.direction})",
                 ("number", "state", "value", "feasible", "best_feasible"), rows)


def slice_table(study: Study | StudyData) -> Table:
    """Completed trials as ``(number, parameter, param_value, value, feasible)`` rows, one per active parameter."""
    data = StudyData.of(study)
    _single_objective(data, "slice plot")
    rows = tuple((t.number, name, t.params[name], t.value, f)
                 for t, f in data.complete for name in data.names if name in t.params)
    return Table(f"Objective against each parameter ({data.name})",
                 ("number", "parameter", "param_value", "value", "feasible"), rows)


def parallel_coordinates_table(study: Study | StudyData) -> Table:
    """Completed trials, one row each: ``number``, every parameter (None when inactive), ``value``, ``feasible``."""
    data = StudyData.of(study)
    _single_objective(data, "parallel coordinate plot")
    rows = tuple((t.number, *[t.params.get(n) for n in data.names], t.value, f) for t, f in data.complete)
    return Table(f"Parameters of every completed trial ({data.name})",
                 ("number", *data.names, "value", "feasible"), rows)


def numeric_params(data: StudyData) -> list[str]:
    """Names of the `Real` and `Integer` parameters."""
    return [n for n, p in data.space.params.items() if not isinstance(p, Choice)]


def contour_table(study: Study | StudyData, x: str | None = None, y: str | None = None) -> Table:
    """Completed trials where both parameters are active: ``(number, x, y, value, feasible)``.

    Args:
        study: The study.
        x, y: Two numeric parameters (default: the first two of the space).

    Raises:
        UnsupportedError: the space has fewer than two numeric parameters.
        InvalidParameterError: ``x`` or ``y`` is not a numeric parameter of the space.
    """
    data = StudyData.of(study)
    _single_objective(data, "contour plot")
    x, y = _pair(data, x, y)
    rows = tuple((t.number, t.params[x], t.params[y], t.value, f)
                 for t, f in data.complete if x in t.params and y in t.params)
    return Table(f"Objective over {x} and {y} ({data.name})", ("number", x, y, "value", "feasible"), rows)


def _pair(data: StudyData, x: str | None, y: str | None) -> tuple[str, str]:
    numeric = numeric_params(data)
    if len(numeric) < 2:
        raise UnsupportedError(f"A contour plot needs two numeric parameters; study {data.name!r} has "
                               f"{numeric or 'none'}.")
    x = numeric[0] if x is None else x
    y = next(n for n in numeric if n != x) if y is None else y
    for param, value in (("x", x), ("y", y)):
        if value not in numeric:
            raise InvalidParameterError(param, "contour_table", f"one of the numeric parameters {numeric}", value)
    if x == y:
        raise InvalidParameterError("y", "contour_table", f"a parameter other than x={x!r}", y)
    return x, y


def constraints_table(study: Study | StudyData) -> Table:
    """Every measured constraint value against its limit: ``(number, constraint, value, op, limit, satisfied)``.

    A trial that did not report a constraint (or reported NaN) has ``value`` None and is not
    satisfied (fail closed).

    Raises:
        UnsupportedError: the study declares no constraints.
    """
    data = StudyData.of(study)
    if not data.constraints:
        raise UnsupportedError(f"Study {data.name!r} declares no outcome constraints; there is nothing to "
                               "draw against a limit.")
    rows = []
    for t, _ in data.complete:
        for name, (op, limit) in data.constraints.items():
            v = t.constraints.get(name)
            ok = v is not None and math.isfinite(v) and (v <= limit if op == "<=" else v >= limit)
            rows.append((t.number, name, v, op, limit, bool(ok)))
    return Table(f"Constraint values against their limits ({data.name})",
                 ("number", "constraint", "value", "op", "limit", "satisfied"), tuple(rows))


def _objective_vectors(data: StudyData) -> tuple[list[Trial], np.ndarray, tuple[str, ...]]:
    trials = [t for t, _ in data.complete if t.values is not None and len(t.values) >= 2]
    if not trials:
        raise UnsupportedError(f"Study {data.name!r} has a single objective (no trial stores several values); "
                               "a Pareto front needs a multi-objective study.")
    width = len(trials[0].values or ())
    trials = [t for t in trials if len(t.values or ()) == width]
    directions = data.directions if len(data.directions) == width else ("minimize",) * width
    return trials, np.array([list(t.values or ()) for t in trials], dtype=float), directions


def pareto_mask(values: np.ndarray, directions: Sequence[str]) -> np.ndarray:
    """Which rows of ``values`` (shape ``(n, m)``) no other row dominates, given each objective's direction.

    The same rule as `Study.pareto_front` (`guardopt.core.pareto.is_non_dominated`): a row with a
    non-finite value is never on the front.
    """
    from guardopt.core.pareto import is_non_dominated

    return is_non_dominated(np.asarray(values, dtype=float).reshape(len(values), -1), list(directions))


def pareto_table(study: Study | StudyData) -> Table:
    """Completed trials of a multi-objective study: ``(number, objective_0, ..., on_front, feasible)``.

    ``on_front`` marks the feasible trials that no other feasible trial dominates.

    Raises:
        UnsupportedError: no trial stores several objective values (a single-objective study).
    """
    data = StudyData.of(study)
    trials, values, directions = _objective_vectors(data)
    feasible = dict(zip([t.number for t in data.trials], data.feasible))
    # The front is among feasible trials only (an infeasible trial is no trade-off on offer).
    ok = np.array([feasible[t.number] for t in trials], dtype=bool)
    front = np.zeros(len(trials), dtype=bool)
    if ok.any():
        front[ok] = pareto_mask(values[ok], directions)
    cols = tuple(f"objective_{i}" for i in range(values.shape[1]))
    rows = tuple((t.number, *map(float, v), bool(on), feasible[t.number])
                 for t, v, on in zip(trials, values, front))
    return Table(f"Pareto front ({data.name}; {', '.join(directions)})", ("number", *cols, "on_front", "feasible"),
                 rows)


def _as_tuples(value: Any) -> Any:
    """``value`` with every list (at any depth) a tuple: what JSON storage gives back for a tuple."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, (list, tuple)) else value


def option_index(data: StudyData, name: str, value: Any) -> int:
    """The index of ``value`` among the options of the `Choice` parameter ``name``.

    A tuple option comes back from JSON storage as a list: that list is the matching tuple option.

    Raises:
        InputDataError: ``value`` is none of the options (naming the parameter).
    """
    options = data.space.params[name].options
    try:
        return int(options.index(value))
    except ValueError:
        pass
    if isinstance(value, list):
        wanted = _as_tuples(value)
        for i, option in enumerate(options):
            if isinstance(option, (list, tuple)) and _as_tuples(option) == wanted:
                return i
    raise InputDataError(f"Study {data.name!r}: the value {value!r} of parameter {name!r} is none of its "
                         f"options {list(options)!r}.")


def is_log(data: StudyData, name: str) -> bool:
    """Whether a parameter is on a log scale."""
    p = data.space.params[name]
    return bool(getattr(p, "log", False))


def is_real(data: StudyData, name: str) -> bool:
    return isinstance(data.space.params[name], Real)

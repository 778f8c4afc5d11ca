"""Warm starts from tables: a pandas DataFrame or a CSV file of earlier evaluations.

The layout is the one `Study.to_dataframe` and Optuna's ``trials_dataframe()`` write: one row per
trial, parameters in ``params_<name>`` columns, the objective in ``value``, optionally ``state``
(``COMPLETE``, ``FAIL``/``FAILED``, ``PRUNED``; running or waiting rows are skipped), constraint
values in ``constraints_<name>`` (or a column named like the constraint) and user attributes in
``user_attrs_<name>``. A missing (NaN) parameter is an inactive one: absent from that trial.

CSV cells lose their types, so each value is read back through the study's parameter: integral
floats become ints for an `Integer`, a `Choice` option is matched by value or by its text.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.core.space import Choice, Integer, Parameter, Real

if TYPE_CHECKING:
    import pandas as pd

    from guardopt.core.study import Study
    from guardopt.core.trial import Trial

_STATES = {"COMPLETE": "COMPLETE", "FAIL": "FAILED", "FAILED": "FAILED", "PRUNED": "PRUNED"}


def read_table(source: Any) -> pd.DataFrame:
    """A DataFrame from a DataFrame or a CSV path."""
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        return source
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InvalidParameterError("source", "Study.add_trials_from", "a DataFrame or an existing CSV file",
                                        str(source))
        return pd.read_csv(path)
    raise InvalidParameterError("source", "Study.add_trials_from", "a pandas DataFrame or a CSV path", source)


def add_trials_from_dataframe(
    study: Study,
    df: pd.DataFrame,
    *,
    params: Sequence[str] | None = None,
    value: str = "value",
    distributions: Mapping[str, Parameter] | None = None,
) -> list[Trial]:
    """Add each row of ``df`` to ``study`` as a finished trial (`Study.add_trial`).

    Args:
        study: The study to warm-start.
        df: The table (see the module docstring for its columns).
        params: Parameter columns, when they are not named ``params_<name>``.
        value: The objective column.
        distributions: Domains of parameters a study with ``space=None`` has not seen yet.

    Returns:
        The added trials, in row order.

    Raises:
        InputDataError: a column is missing, or a value lies outside its parameter (naming the row).
    """
    columns = [str(c) for c in df.columns]
    if params is None:
        pcols = {c[len("params_"):]: c for c in columns if c.startswith("params_")}
    else:
        missing = [c for c in params if c not in columns]
        if missing:
            raise InputDataError(f"The 'params' argument of Study.add_trials_from names columns {missing} that the "
                                 f"table lacks (it has {columns}).")
        pcols = {c: c for c in params}
    if not pcols:
        raise InputDataError("The table given to Study.add_trials_from has no parameter columns: name them "
                             f"'params_<name>' or pass params=[...]. Got columns {columns}.")
    has_state = "state" in columns
    if value not in columns and not has_state:
        raise InputDataError(f"The table given to Study.add_trials_from has no {value!r} column. Got {columns}.")
    ccols = {}
    for name in study.constraints:
        for c in (f"constraints_{name}", name):
            if c in columns:
                ccols[name] = c
                break
    acols = {c[len("user_attrs_"):]: c for c in columns if c.startswith("user_attrs_")}
    domains: dict[str, Parameter] = dict(study._dists)
    if study._declared is not None:
        domains = dict(study._declared.params)
    domains.update(distributions or {})
    unknown = [n for n in pcols if n not in domains]
    if unknown:
        raise InputDataError(f"Study.add_trials_from: the parameters {unknown} are not in the study's space; "
                             "declare them, or pass distributions={name: go.Real(...), ...}.")
    added = []
    for i, row in enumerate(df.to_dict("records")):
        state = _STATES.get(str(row.get("state", "COMPLETE")).upper().replace("TRIALSTATE.", ""))
        if state is None:
            continue  # RUNNING or WAITING: not a finished evaluation
        p = {}
        for name, col in pcols.items():
            v = row[col]
            if _missing(v):
                continue
            p[name] = _coerce(domains[name], v, name, i)
        result: Any = None
        if state == "COMPLETE":
            if _missing(row.get(value)):
                raise InputDataError(f"Row {i} of the table is COMPLETE but its {value!r} is missing.")
            result = {"value": float(row[value]), **{n: float(row[c]) for n, c in ccols.items()
                                                    if not _missing(row[c])}}
        attrs = {n: _plain(row[c]) for n, c in acols.items() if not _missing(row[c])}
        added.append(study.add_trial(p, result, state=state, user_attrs=attrs,  # type: ignore[arg-type]
                                     distributions={n: domains[n] for n in p}
                                     if study._declared is None else None))
    return added


def _missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def _plain(v: Any) -> Any:
    return v.item() if hasattr(v, "item") else v


def _coerce(p: Parameter, v: Any, name: str, row: int) -> Any:
    v = _plain(v)
    if isinstance(p, Integer):
        if isinstance(v, float) and v.is_integer():
            return int(v)
        if isinstance(v, str) and v.strip().lstrip("-").isdigit():
            return int(v)
        return v
    if isinstance(p, Real):
        try:
            return float(v)
        except (TypeError, ValueError) as exc:
            raise InputDataError(f"Row {row}: the {name!r} value {v!r} is not a number.") from exc
    if isinstance(p, Choice):
        for o in p.options:
            if (o == v and type(o) is not bool) or str(o) == str(v):
                return o
        raise InputDataError(f"Row {row}: the {name!r} value {v!r} is none of the options {list(p.options)}.")
    return v

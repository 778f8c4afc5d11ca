"""What the dashboard shows, as JSON-ready dicts built from `guardopt.viz`'s tables.

* `studies_payload`: every study of a storage with its trial counts and best feasible value.
* `study_payload`: one study's history (`guardopt.viz.history_table`), constraint values against
  their limits (`guardopt.viz.constraints_table`) and the last trials as a table. Cheap: it only
  reads the storage.
* `model_payload`: what needs a model fit, so is computed less often (the server caches it):
  parameter importance (`guardopt.viz.importance_table`; on a seeded random sample of
  `IMPORTANCE_TRIALS` completed trials when a study has more) and the pessimistic (certified)
  recommendation, ``Study.best(guard="pessimistic")`` of the study reloaded read-only.

The recommendation. A storage keeps a study's problem and trials, not the optimizer that ran it.
For a constrained study the study is reloaded with a `guardopt.bo.GPOptimizer` fitted to the stored
trials, so that ``best(guard="pessimistic")`` keeps only trials whose every constraint holds under
the GP's upper confidence bound *and* as measured (fail closed: a missing value is a violation).
Without constraints, or past `MAX_GP_TRIALS` completed trials (the GP fit is cubic in them), or when
the GP cannot be fitted, it is the best trial whose measured constraints hold, and ``guard`` in the
payload says which rule chose it.

Every value is JSON-safe (`jsonable`): NaN and infinities become the strings ``"nan"``, ``"inf"``,
``"-inf"`` (JSON has no such numbers), other objects their ``str``. Nothing here produces HTML.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from guardopt.core.errors import GuardoptError, InvalidParameterError, check_int
from guardopt.core.problem import meets_constraints
from guardopt.core.storage import Storage
from guardopt.core.trial import Trial, TrialState

logger = logging.getLogger("guardopt.dashboard")

#: Completed trials above which the recommendation uses measured feasibility instead of a GP fit.
MAX_GP_TRIALS = 400
#: Completed trials above which parameter importance is computed on a seeded random sample of this many.
IMPORTANCE_TRIALS = 300
#: Trials shown in a study's trial table (the most recent ones); the charts use all of them.
TABLE_ROWS = 200


def jsonable(value: Any) -> Any:
    """``value`` with non-finite floats as strings and every non-JSON object as its ``str``."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        f = float(value)
        return f if math.isfinite(f) else ("nan" if math.isnan(f) else ("inf" if f > 0 else "-inf"))
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    return str(value)


def _spec(storage: Storage, name: str, owner: str) -> dict[str, Any]:
    spec = storage.get_spec(name)
    if spec is None:
        raise InvalidParameterError("name", owner, f"one of the stored studies {storage.study_names()}", name)
    return spec


def _constraints(spec: Mapping[str, Any]) -> dict[str, tuple[str, float]]:
    out: dict[str, tuple[str, float]] = {}
    for k, v in (spec.get("constraints") or {}).items():
        try:
            out[str(k)] = (str(v[0]), float(v[1]))
        except (TypeError, ValueError, IndexError):
            continue  # a damaged declaration is shown as absent, never as satisfied
    return out


def _best(trials: list[Trial], feasible: list[bool], direction: str) -> Trial | None:
    sign = -1.0 if direction == "maximize" else 1.0
    best: Trial | None = None
    for t, f in zip(trials, feasible):
        if not f or t.value is None or not math.isfinite(t.value):
            continue
        if best is None or sign * t.value < sign * best.value:  # type: ignore[operator]
            best = t
    return best


def studies_payload(storage: Storage) -> dict[str, Any]:
    """Every study of ``storage``: name, direction, trial counts by state (pruned included), best feasible value."""
    rows = []
    for name in storage.study_names():
        spec = storage.get_spec(name) or {}
        trials = storage.trials(name)
        constraints = _constraints(spec)
        feasible = [meets_constraints(t, constraints) for t in trials]
        direction = str(spec.get("direction", "minimize"))
        best = _best(trials, feasible, direction)
        states = [t.state for t in trials]
        rows.append({
            "name": name, "direction": direction, "trials": len(trials),
            "complete": states.count(TrialState.COMPLETE), "running": states.count(TrialState.RUNNING),
            "failed": states.count(TrialState.FAILED), "pruned": states.count(TrialState.PRUNED),
            "feasible": int(sum(feasible)),
            "best_value": None if best is None else best.value, "constraints": len(constraints),
        })
    return jsonable({"studies": rows})


def version_of(trials: list[Trial]) -> str:
    """Changes whenever a trial is added or finishes (trials only ever go RUNNING -> finished)."""
    running = sum(t.state is TrialState.RUNNING for t in trials)
    return f"{len(trials)}-{running}"


def study_payload(storage: Storage, name: str, rows: int = TABLE_ROWS, known: str | None = None) -> dict[str, Any]:
    """One study: problem, counts, history, constraint values against limits and the last ``rows`` trials.

    Args:
        storage: A (read-only) storage.
        name: A stored study's name.
        rows: How many of the most recent trials the ``trials`` table holds.
        known: The ``version`` the caller already has: when the study has not changed since, only
            ``{"name", "version", "unchanged": True}`` is returned (a poll of an idle study stays cheap).

    Returns:
        A JSON-ready dict with keys ``name, direction, params, constraints, counts, version,
        best, history, history_reason, constraint_values, trials`` (``history``: one row per trial
        with ``number, state, value, feasible, best_feasible``, empty for a multi-objective study,
        whose ``history_reason`` says why (otherwise None), whose ``direction`` lists every
        objective's and whose ``trials`` rows also carry ``values`` (one per objective, None when not
        completed); ``counts``: ``trials, complete, running, failed, pruned, feasible``;
        ``constraint_values``: per constraint ``op, limit`` and ``points`` as
        ``[number, value, satisfied]``).

    Raises:
        InvalidParameterError: no study ``name`` in the storage (naming ``name``), or ``rows`` < 1.
    """
    from guardopt.viz.tables import Table, constraints_table, history_table

    rows = check_int(rows, "rows", "study_payload", low=1)
    spec = _spec(storage, name, "study_payload")
    trials = storage.trials(name)
    if known is not None and known == version_of(trials):
        return {"name": name, "version": known, "unchanged": True}
    constraints = _constraints(spec)
    direction = "maximize" if spec.get("direction") == "maximize" else "minimize"
    feasible = [meets_constraints(t, constraints) for t in trials]
    data = _study_data(name, spec, direction, constraints, trials, feasible)
    directions = [str(d) for d in spec.get("directions") or ()]
    history_reason = None
    if len(directions) >= 2:  # history_table refuses several objectives: the rest of the page still shows
        history_reason = (f"A multi-objective study ({', '.join(directions)}): its trials store several values, "
                          "so there is no single-objective history (`guardopt study plot` draws its Pareto front).")
        history: Table | None = None
    else:
        history = history_table(data)
    cons: dict[str, Any] = {k: {"op": op, "limit": limit, "points": []} for k, (op, limit) in constraints.items()}
    if constraints:
        for number, cname, value, _op, _limit, ok in constraints_table(data):
            cons[cname]["points"].append([number, value, ok])
    param_names = _param_names(spec, trials)
    best = _best(trials, feasible, direction)
    states = [t.state for t in trials]
    table = [{
        "number": t.number, "state": t.state.value, "value": t.value, "feasible": f,
        # a multi-objective trial stores its objective values in ``values`` (its ``value`` is None)
        **({"values": None if t.values is None else list(t.values)} if history is None else {}),
        "params": {p: t.params.get(p) for p in param_names},
        "constraints": {c: t.constraints.get(c) for c in constraints},
        "duration_s": t.duration,
        "failure_reason": t.failure_reason,
    } for t, f in list(zip(trials, feasible))[-rows:]][::-1]
    return jsonable({
        "name": name, "direction": ", ".join(directions) if history is None else direction,
        "params": param_names,
        "constraints": [{"name": k, "op": op, "limit": limit} for k, (op, limit) in constraints.items()],
        "counts": {"trials": len(trials), "complete": states.count(TrialState.COMPLETE),
                   "running": states.count(TrialState.RUNNING), "failed": states.count(TrialState.FAILED),
                   "pruned": states.count(TrialState.PRUNED), "feasible": int(sum(feasible))},
        "version": version_of(trials),
        "best": None if best is None else {"number": best.number, "value": best.value, "params": dict(best.params)},
        "history": [] if history is None else history.as_dicts(), "history_reason": history_reason,
        "constraint_values": cons,
        "trials": table, "trials_shown": len(table),
    })


def _param_names(spec: Mapping[str, Any], trials: list[Trial]) -> list[str]:
    names = [str(n) for n in ((spec.get("space") or {}).get("params") or {})]
    for t in trials:  # a space defined by its objective: names as first suggested
        names.extend(str(n) for n in t.params if str(n) not in names)
    return names


def _study_data(name: str, spec: Mapping[str, Any], direction: str, constraints: dict[str, tuple[str, float]],
                trials: list[Trial], feasible: list[bool]) -> Any:
    from guardopt.core.problem import ProblemSpec
    from guardopt.viz.tables import StudyData

    space: Any = None
    if spec.get("space"):
        try:
            space = ProblemSpec.from_dict(spec).space
        except (GuardoptError, KeyError, TypeError, ValueError):
            space = None
    return StudyData(name, direction, space, constraints, trials, feasible, tuple(spec.get("directions") or ()))


def model_payload(storage: Storage, name: str, importance: str = "auto") -> dict[str, Any]:
    """Parameter importance and the pessimistic (certified) recommendation of one study.

    Args:
        storage: A (read-only) storage.
        name: A stored study's name.
        importance: ``"auto"``, ``"fanova"`` or ``"permutation"`` (see `guardopt.viz.importance_table`).

    Returns:
        ``{"version", "importance": {"rows": [[parameter, share], ...], "note"} or {"reason"},
        "recommendation": {"number", "value", "params", "constraints", "guard", "note"} or
        {"reason", "guard", "note"}}``.

    Raises:
        InvalidParameterError: no study ``name`` (naming ``name``), or an unknown ``importance``.
    """
    from guardopt.core.errors import check_choice

    check_choice(importance, "importance", "model_payload", ("auto", "fanova", "permutation"))
    spec = _spec(storage, name, "model_payload")
    trials = storage.trials(name)
    return jsonable({"version": version_of(trials), "importance": _importance(storage, name, spec, importance),
                     "recommendation": certified_recommendation(storage, name, spec, trials)})


def _importance(storage: Storage, name: str, spec: Mapping[str, Any], method: str) -> dict[str, Any]:
    from guardopt.viz import StudyData, importance_table

    try:
        data = StudyData.load(name, storage)
        with np.errstate(all="ignore"):
            table = importance_table(data, method=method, max_trials=IMPORTANCE_TRIALS)  # type: ignore[arg-type]
    except (GuardoptError, ValueError) as exc:
        return {"reason": str(exc)}
    return {"rows": [list(r) for r in table.rows], "note": table.note}


def certified_recommendation(storage: Storage, name: str, spec: Mapping[str, Any] | None = None,
                             trials: list[Trial] | None = None) -> dict[str, Any]:
    """``Study.best(guard="pessimistic")`` of the stored study, reloaded read-only (see the module docstring)."""
    from guardopt.core.study import Study

    spec = _spec(storage, name, "certified_recommendation") if spec is None else spec
    trials = storage.trials(name) if trials is None else trials
    if spec.get("directions"):
        return {"reason": "A multi-objective study has a Pareto front, not one recommendation.", "guard": None}
    constraints = _constraints(spec)
    n_complete = sum(t.state is TrialState.COMPLETE for t in trials)
    measured = ("the best completed trial whose measured constraint values all hold (a missing value is a "
                "violation)")
    guard, note, optimizer = "measured", measured, None
    if not constraints:
        note = "no constraints are declared: the best completed trial"
    if constraints and n_complete > MAX_GP_TRIALS:
        note = f"{measured}; the GP guard is fitted up to {MAX_GP_TRIALS} completed trials, this study has {n_complete}"
    elif constraints and n_complete >= 2:
        from guardopt.bo.optimizer import GPOptimizer

        optimizer = GPOptimizer(seed=0)
        guard = "gp-pessimistic"
        note = (f"every constraint holds under its GP upper confidence bound (GPOptimizer, guard_delta="
                f"{optimizer.config.guard_delta}) and as measured; the lowest loss among them")
    best = None
    try:
        with np.errstate(all="ignore"):
            best = Study.load(name, storage, optimizer=optimizer).best(guard="pessimistic")
    except (GuardoptError, ArithmeticError, ValueError, np.linalg.LinAlgError) as exc:
        if optimizer is None:
            return {"reason": f"The study cannot be reloaded: {exc}", "guard": None}
        logger.info("GP guard of study %r failed (%s); measured feasibility used", name, exc)
        guard, note = "measured", f"{measured} (the GP could not be fitted: {exc})"
        try:
            best = Study.load(name, storage).best(guard="pessimistic")
        except GuardoptError as exc2:
            return {"reason": f"The study cannot be reloaded: {exc2}", "guard": None}
    if best is None:
        return {"reason": "No completed trial passes the guard yet.", "guard": guard, "note": note}
    return {"number": best.number, "value": best.value, "params": dict(best.params),
            "constraints": dict(best.constraints), "guard": guard, "note": note}

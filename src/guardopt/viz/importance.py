"""Parameter importance from well-kept implementations, not a new algorithm.

* ``"fanova"``: Optuna's `FanovaImportanceEvaluator` (functional ANOVA on a random forest, Hutter,
  Hoos and Leyton-Brown, 2014, "An Efficient Approach for Assessing Hyperparameter Importance",
  ICML) — used when Optuna is installed, with a smaller forest than Optuna's default (see
  `FANOVA_TREES`), and log-scaled parameters handed over in log10 units (see `_fanova`). The
  study's completed trials are copied into an in-memory Optuna study; Optuna keeps the parameters
  present in every trial (its intersection search space), so a conditional parameter is left out
  (the table's note names it).
* ``"permutation"``: scikit-learn's `permutation_importance` of a `RandomForestRegressor` fitted on
  the trials (Breiman, 2001): the drop in R² when one parameter's column is shuffled, clipped at 0
  and normalized to sum to 1. Parameters are encoded as in the unit cube (log scales kept), a
  choice by its option index, an inactive parameter as -1.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import replace
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from guardopt.core.errors import UnsupportedError, check_choice, check_int
from guardopt.core.space import Choice
from guardopt.core.trial import TrialState
from guardopt.viz.tables import StudyData, Table, _require, _single_objective, is_log, option_index

if TYPE_CHECKING:
    from guardopt.core.study import Study

Method = Literal["auto", "fanova", "permutation"]
#: Completed trials needed before an importance is computed.
MIN_TRIALS = 4
#: The fANOVA forest: half of Optuna's default 64 trees of depth 64, and depth 16. On the 100-trial test
#: study of tests/viz/test_viz.py it gives the same shares (x 0.71, lr 0.29) in less than half the time.
FANOVA_TREES = 32
FANOVA_DEPTH = 16


def importance_table(study: Study | StudyData, method: Method = "auto", seed: int = 0,
                     max_trials: int | None = None) -> Table:
    """Each parameter's importance for the objective value, most important first.

    Args:
        study: The study (its COMPLETE trials are used).
        method: ``"fanova"`` (needs Optuna), ``"permutation"`` (scikit-learn), or ``"auto"`` (fANOVA
            when Optuna is installed, else permutation).
        seed: Seed of the random forest, of the permutations and of the sample below.
        max_trials: Past this many completed trials, a seeded uniform sample of that many is used
            (forests grow superlinearly in trials: fANOVA took 43 s on 2,000 trials, 11 s on 500).
            None uses them all.

    Returns:
        A `Table` with columns ``parameter, importance`` (non-negative, summing to 1 unless every
        importance is 0); its ``note`` names the method, and says how many completed trials with a
        NaN or infinite value were left out (`Study.tell` never stores one; another writer might)
        and whether a sample was used.

    Raises:
        UnsupportedError: fewer than `MIN_TRIALS` completed trials with a finite value.
    """
    check_choice(method, "method", "importance_table", ("auto", "fanova", "permutation"))
    check_int(seed, "seed", "importance_table", low=0)
    if max_trials is not None:
        check_int(max_trials, "max_trials", "importance_table", low=MIN_TRIALS)
    data, dropped, sampled_of = _usable(StudyData.of(study), seed, max_trials)
    _single_objective(data, "parameter importance")
    if dropped and len(data.complete) < MIN_TRIALS:
        finite = len(data.complete)
        what = ("no completed trial has a finite value" if finite == 0 else
                f"only {finite} completed trial(s) have a finite value")
        raise UnsupportedError(f"The parameter importance of study {data.name!r} needs at least {MIN_TRIALS} "
                               f"completed trials with a finite value; {what} ({dropped} with a NaN or "
                               "infinite value left out).")
    done = _require(data, MIN_TRIALS, "parameter importance")
    if method == "auto":
        method = "fanova" if importlib.util.find_spec("optuna") is not None else "permutation"
    values = np.array([t.value for t, _ in done], dtype=float)
    with np.errstate(over="ignore"):
        extreme = not math.isfinite(float(np.max(values) - np.min(values))) or float(np.max(np.abs(values))) > 1e100
    if extreme:
        # Forests cannot fit values near the float64 limit; their ranks keep the order, which is what matters.
        from scipy.stats import rankdata

        ranks = dict(zip([t.number for t, _ in done], rankdata(values)))
        data = replace(data, trials=[replace(t, value=float(ranks[t.number])) if t.number in ranks else t
                                     for t in data.trials])
        done = data.complete
    if method == "fanova":
        scores = _fanova(data, seed)
        note = "fANOVA (optuna.importance.FanovaImportanceEvaluator; log parameters in log10 units)"
        left_out = [n for n in data.names if n not in scores]
        if left_out:
            note += f"; left out (not in every trial): {', '.join(left_out)}"
    else:
        scores = _permutation(data, done, seed)
        note = "permutation importance of a random forest (scikit-learn)"
    if scores and not any(scores.values()):
        note += "; no parameter explains any variance of the values (every importance is 0)"
    if extreme:
        note += "; computed on the ranks of the values (some are beyond ±1e100)"
    if dropped:
        note += f"; {dropped} trial(s) with a non-finite value left out"
    if sampled_of:
        note += f"; on a random sample of {max_trials} of the {sampled_of} completed trials"
    rows = tuple(sorted(((n, float(v)) for n, v in scores.items()), key=lambda r: (-r[1], r[0])))
    return Table(f"Parameter importance for the objective ({data.name})", ("parameter", "importance"), rows, note)


def _usable(data: StudyData, seed: int, max_trials: int | None) -> tuple[StudyData, int, int]:
    """``data`` without completed trials whose value is not finite (a forest cannot be fitted to them)
    and, past ``max_trials`` completed trials, with a seeded sample of them; also the number left out
    and, when sampled, how many there were."""
    keep = [t.state is not TrialState.COMPLETE or (t.value is not None and math.isfinite(t.value))
            for t in data.trials]
    dropped = keep.count(False)
    complete = [i for i, t in enumerate(data.trials) if keep[i] and t.state is TrialState.COMPLETE]
    sampled_of = len(complete) if max_trials is not None and len(complete) > max_trials else 0
    if sampled_of:
        chosen = set(np.random.default_rng(seed).choice(complete, size=max_trials, replace=False).tolist())
        keep = [k and (t.state is not TrialState.COMPLETE or i in chosen) for i, (t, k) in
                enumerate(zip(data.trials, keep))]
    if dropped or sampled_of:
        data = replace(data, trials=[t for t, k in zip(data.trials, keep) if k],
                       feasible=[f for f, k in zip(data.feasible, keep) if k])
    return data, dropped, sampled_of


def _fanova(data: StudyData, seed: int) -> dict[str, float]:
    import optuna

    from guardopt.integrations.optuna import distributions_of

    # Optuna's fANOVA integrates each parameter uniformly over its range as given, a log-scaled one
    # included; a log parameter is therefore handed over in log10 units, so that the importance is
    # measured under the space's own (log-uniform) measure. Without it a log learning rate whose
    # effect is 30% of the variance scored 1.5% (tests/viz/test_viz.py).
    dists = distributions_of(data.space)
    logs = {n for n in data.names if is_log(data, n)}
    for n in logs:
        p = data.space.params[n]
        dists[n] = optuna.distributions.FloatDistribution(math.log10(p.low), math.log10(p.high))

    def value(n: str, v: Any) -> Any:
        p = data.space.params[n]
        if isinstance(p, Choice):  # a stored tuple option comes back as a list: hand over the option itself
            return p.options[option_index(data, n, v)]
        return math.log10(v) if n in logs else v

    log = optuna.logging.get_logger("optuna")
    level = log.level
    log.setLevel("WARNING")  # creating a study logs at INFO; guardopt stays quiet
    try:
        ostudy = optuna.create_study(direction="maximize" if data.direction == "maximize" else "minimize")
        for t, _ in data.complete:
            ostudy.add_trial(optuna.trial.create_trial(params={k: value(k, v) for k, v in t.params.items()},
                                                       value=t.value,
                                                       distributions={k: dists[k] for k in t.params}))
        evaluator = optuna.importance.FanovaImportanceEvaluator(n_trees=FANOVA_TREES, max_depth=FANOVA_DEPTH,
                                                                seed=seed)
        try:
            scores = optuna.importance.get_param_importances(ostudy, evaluator=evaluator, normalize=True)
        except RuntimeError as exc:
            if "zero total variance" not in str(exc):
                raise
            # Values the forest cannot tell apart (all equal, or differing by ~1e-300): Optuna refuses;
            # no parameter explains any variance, as the permutation method says with zeros.
            scores = {n: 0.0 for n in data.names if all(n in t.params for t, _ in data.complete)}
    finally:
        log.setLevel(level)
    return {k: float(v) for k, v in scores.items()}


def _permutation(data: StudyData, done: list, seed: int) -> dict[str, float]:
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.inspection import permutation_importance

    names = data.names
    x = np.full((len(done), len(names)), -1.0)
    for i, (t, _) in enumerate(done):
        for j, n in enumerate(names):
            if n not in t.params:
                continue
            p = data.space.params[n]
            x[i, j] = option_index(data, n, t.params[n]) if isinstance(p, Choice) else float(p.encode(t.params[n])[0])
    y = np.array([t.value for t, _ in done], dtype=float)
    forest = RandomForestRegressor(n_estimators=48, random_state=seed, n_jobs=1).fit(x, y)
    result = permutation_importance(forest, x, y, n_repeats=5, random_state=seed, n_jobs=1)
    raw = np.clip(np.nan_to_num(result.importances_mean, nan=0.0), 0.0, None)
    total = raw.sum()
    share = raw / total if total > 0 else raw
    return dict(zip(names, map(float, share)))

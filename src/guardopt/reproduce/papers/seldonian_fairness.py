"""Seldonian fair loan approval on German Credit (Thomas et al., 2019, Science 366:999).

Claim checked (the Seldonian framework's, in the form of its Science paper's fairness experiments,
here on German Credit): a classifier returned by the Seldonian two-step — maximise accuracy subject
to a demographic parity gap of at most ``ε = 0.05`` with confidence ``1 - δ = 0.95`` — returns a
classifier that violates the constraint on fresh data with probability at most ``δ``; an
unconstrained logistic regression and fairness-penalised learners without a confidence test violate
it more often; and the chance of returning a solution grows with the amount of data.

Design (German has only 1,000 rows):

* **Population = the 1,000 applicants** (their empirical distribution). A training set of size
  ``n`` is ``n`` i.i.d. draws from it (a bootstrap sample, stored as multinomial counts over the
  1,000 rows = frequency weights, which is what makes ``n`` up to 30,000 cheap). The *true* parity
  gap and accuracy of a returned classifier are computed exactly on the 1,000 rows, so "fresh
  data" is the population itself and there is no second sampling error in the violation count.
* Groups: ``sex`` (female = A92/A95, 31%) and ``age`` (``age <= 25``, 19%); the attributes that
  define them are not features. 56 features (one-hot categoricals, standardised numerics).
* Methods, on the same bootstrap sample for a given split and size (common random numbers):
  - ``seldonian``: `guardopt.certify.Seldonian` (``δ = 0.05``, Student-t, 60% safety data, doubled
    predicted bound: the Seldonian defaults) over `ClassifierModel` with hard labels, candidate
    family = logistic fits along a soft-parity penalty path × intercept shifts (0, 0.5, 1, 2);
  - ``logreg``: L2 logistic regression on all ``n`` samples, hard labels;
  - ``lagrangian``: the same penalty path on all ``n`` samples, keeping the smallest penalty whose
    *training* parity gap is at most ``ε`` (a constraint met in-sample, no confidence);
  - ``fairlearn-eg``: fairlearn's ExponentiatedGradient with ``DemographicParity(difference_bound=ε)``
    over scikit-learn's logistic regression; its randomized classifier is scored by its approval
    probabilities. It costs 1–2 s per fit up to n = 1,000 (4 s at 3,000), so it runs on the first
    ``eg_splits`` splits only and at sizes up to ``eg_max_size``.
* **Tuning, the same for every method** (`tuned`): the one hyperparameter all four share, the L2
  strength of the logistic fits (for fairlearn, the inner scikit-learn model's ``C = 1/(L2 n)``), is
  chosen from `L2_GRID` on tuning splits (seeds from `guardopt.reproduce.tuning.tuning_seeds`,
  disjoint from the evaluation splits) at ``tune_size`` training points, by a score computed on an
  independent bootstrap validation sample of `VALIDATION_SIZE` points, each method by what it
  optimises: validation accuracy for the unconstrained logistic regression; for the three
  constrained methods validation accuracy minus 1 when the validation parity gap exceeds ``ε``
  (feasibility first), "no solution" scoring as the approve-everyone classifier (gap 0). The
  Seldonian settings (δ, safety fraction, inflation) are the paper's and are not tuned; the
  Lagrangian's penalty is chosen by its own in-sample rule. Cells
  store the chosen L2 and every grid score, and the report shows the table.
* A trial *violates* when the true gap exceeds ``ε``.

The verdict (rules of ``docs/reproduce.md``), per group:

1. the Seldonian P(return a violating classifier) over all trials at most ``δ``: Clopper–Pearson
   upper bound (`rate_at_most`; VACUOUS when nothing was returned), and the same among the trials
   that returned one (a stronger, conditional statement; an added check);
2. each baseline violates more often than ``δ`` (Clopper–Pearson *lower* bound above ``δ``), and
   by how much more than the Seldonian method, paired over splits (`paired_gain` on the per-split
   violation rates over the sizes both ran, with the interval);
3. the solution rate at the largest size above the one at the smallest, paired over splits.

A rate whose Clopper–Pearson bound could not pass even with zero events (too few trials, e.g. at
the quick scale) is INCONCLUSIVE unless its lower bound already shows it above the limit.
Negative control: ``point-estimate`` (candidate selection with the bound's width 0 and a "safety
test" that compares the plug-in gap on the safety data with ``ε``) is not part of the grid; a unit
test runs it through this verdict in the Seldonian method's place and the verdict FAILS.
"""

from __future__ import annotations

import functools
import math
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from guardopt.certify.constraints import demographic_parity
from guardopt.certify.models import ClassifierModel
from guardopt.certify.seldonian import Seldonian
from guardopt.core.errors import InsufficientDataError, UnsupportedError
from guardopt.problems.credit import CreditData, load_german_credit
from guardopt.reproduce.criteria import (
    CONFIDENCE,
    clopper_pearson_lower,
    clopper_pearson_upper,
    inconclusive,
    paired_gain,
    rate_above,
    rate_at_most,
    vacuous,
)
from guardopt.reproduce.spec import (
    Cell,
    CellResult,
    Evidence,
    Paper,
    Reproduction,
    Results,
    Scale,
    Verdict,
)
from guardopt.reproduce.tuning import TuningResult, tune, tuning_seeds

DELTA = 0.05
EPSILON = 0.05
L2_DEFAULT = 1e-3  # ClassifierModel's default, the middle of the grid
L2_GRID = (1e-4, 1e-3, 1e-2, 1e-1)
VALIDATION_SIZE = 1000
SHIFTS = (0.0, 0.5, 1.0, 2.0)
PENALTIES = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
TASKS = ("sex", "age")
METHODS = ("seldonian", "logreg", "lagrangian", "fairlearn-eg")
BASELINES = ("logreg", "lagrangian", "fairlearn-eg")
NEGATIVE_CONTROL = "point-estimate"
QUICK_SIZES = (300, 1000, 30000)
FULL_SIZES = (100, 300, 1000, 3000, 10000, 30000)
CURVES = ("returned", "violated", "gap", "accuracy")

_POPULATION: CreditData | None = None


def population() -> CreditData:
    """German Credit, loaded once per process."""
    global _POPULATION
    if _POPULATION is None:
        _POPULATION = load_german_credit()
    return _POPULATION


def _rng(cell: Cell, size_index: int) -> np.random.Generator:
    # The method is not part of the seed: every method sees the same bootstrap sample.
    return np.random.default_rng([cell.seed, zlib.crc32(cell.task.encode()), size_index])


def _weighted_gap(pred: np.ndarray, group: np.ndarray, w: np.ndarray) -> float:
    """Parity gap of approvals ``pred`` under frequency weights ``w``."""
    a = np.dot(w * (group == 0), pred) / np.dot(w, group == 0)
    b = np.dot(w * (group == 1), pred) / np.dot(w, group == 1)
    return float(abs(a - b))


def _gap_acc(approve: np.ndarray, pop: CreditData, group: np.ndarray,
             weights: np.ndarray | None = None) -> tuple[float, float]:
    """Parity gap and accuracy of approval probabilities ``(1000,)``: exact on the population, or
    under frequency weights (a bootstrap sample of it)."""
    w = np.ones(pop.n) if weights is None else np.asarray(weights, dtype=float)
    gap = _weighted_gap(approve, group, w)
    acc = float(np.dot(w, pop.y * approve + (1 - pop.y) * (1.0 - approve)) / w.sum())
    return gap, acc


def _model(l2: float) -> ClassifierModel:
    return ClassifierModel(l2=l2, penalty_group="group", penalties=PENALTIES, intercept_shifts=SHIFTS)


def _point_estimate_release(model: ClassifierModel, data: dict[str, np.ndarray], seed: int) -> np.ndarray | None:
    """The negative control: the two-step with no confidence bound anywhere.

    Candidate selection with the predicted bound's width set to 0 (``inflation=0``: the plug-in gap
    on the candidate data), then a "safety test" that releases when the plug-in gap on the safety
    data is at most ``ε``. Returns the released parameters or None.
    """
    sel = Seldonian(delta=DELTA, inflation=0.0)
    cand_data, safety_data = sel.split(data, seed)
    n_s = float(np.sum(safety_data["sample_weight"]))
    cand = sel.select_candidate(model, cand_data, demographic_parity(EPSILON), n_safety=n_s)
    pred = model.predict(cand.params, safety_data)
    gap = _weighted_gap(pred, safety_data["group"], safety_data["sample_weight"])
    return cand.params if gap <= EPSILON else None


def _fit_method(method: str, data: dict[str, np.ndarray], pop: CreditData, group: np.ndarray,
                seed: int, l2: float = L2_DEFAULT) -> np.ndarray | None:
    """Approval probabilities on the population ``(1000,)``, or None when nothing was returned."""
    model = _model(l2)
    pop_data = {"X": pop.X}
    if method in ("seldonian", NEGATIVE_CONTROL):
        try:
            if method == NEGATIVE_CONTROL:
                params = _point_estimate_release(model, data, seed)
                return model.predict(params, pop_data) if params is not None else None
            res = Seldonian(delta=DELTA).run(model, data, demographic_parity(EPSILON), seed=seed)
        except InsufficientDataError:
            return None  # a group too small to bound: no solution can be certified
        return model.predict(res.unwrap(), pop_data) if res else None
    if method == "logreg":
        return model.predict(model.initial_params(data), pop_data)
    if method == "lagrangian":
        theta = None
        chosen = None
        for lam in PENALTIES:
            theta = model.fit(data, lam, theta0=theta).theta_
            chosen = theta
            pred = model.predict(theta, data)
            if _weighted_gap(pred, data["group"], data["sample_weight"]) <= EPSILON:
                break
        assert chosen is not None
        return model.predict(chosen, pop_data)
    if method == "fairlearn-eg":
        return _fairlearn_eg(data, pop, seed, l2)
    raise UnsupportedError(f"Unknown method {method!r}.")


def _fairlearn_eg(data: dict[str, np.ndarray], pop: CreditData, seed: int, l2: float) -> np.ndarray:
    try:
        from fairlearn.reductions import DemographicParity, ExponentiatedGradient
        from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UnsupportedError("fairlearn-eg needs `pip install fairlearn`.") from exc
    # fairlearn's moments weight rows equally, so the bootstrap counts are expanded into rows.
    idx = np.repeat(np.arange(len(data["sample_weight"])), data["sample_weight"].astype(int))
    eg = ExponentiatedGradient(SkLogisticRegression(C=1.0 / (l2 * len(idx)), max_iter=500),
                               DemographicParity(difference_bound=EPSILON), max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eg.fit(data["X"][idx], data["y"][idx], sensitive_features=data["group"][idx])
        return np.asarray(eg._pmf_predict(pop.X)[:, 1], dtype=float)


def _bootstrap(rng: np.random.Generator, n: int, pop: CreditData, group: np.ndarray) -> dict[str, np.ndarray]:
    counts = rng.multinomial(n, np.full(pop.n, 1.0 / pop.n))
    keep = counts > 0
    return {"X": pop.X[keep], "y": pop.y[keep], "group": group[keep], "sample_weight": counts[keep]}


@functools.cache
def tuned(task: str, method: str, tune_size: int, n_seeds: int) -> TuningResult:
    """The L2 strength of one method on one task, tuned on `tuning_seeds` (cached per process).

    Every method gets the same grid (`L2_GRID`), the same tuning seeds and training size, and is
    scored on an independent bootstrap validation sample of `VALIDATION_SIZE` points by what it
    optimises: accuracy for the unconstrained ``logreg``; for the constrained methods accuracy minus
    1 when the parity gap exceeds ``ε`` (feasibility first), no solution scoring as approving everyone.
    """
    pop = population()
    group = pop.group(task)

    def score(setting: Any, seed: int) -> float:
        rng = np.random.default_rng([seed, zlib.crc32(task.encode())])
        data = _bootstrap(rng, tune_size, pop, group)
        val = rng.multinomial(VALIDATION_SIZE, np.full(pop.n, 1.0 / pop.n))
        approve = _fit_method(method, data, pop, group, seed=int(rng.integers(2**31)), l2=float(setting["l2"]))
        if approve is None:
            approve = np.ones(pop.n)
        gap, acc = _gap_acc(approve, pop, group, val)
        if method == "logreg":  # unconstrained: tuned for what it optimises
            return acc
        return acc - (1.0 if gap > EPSILON else 0.0)

    return tune(score, {"l2": list(L2_GRID)}, tuning_seeds(n_seeds), maximize=True)


def run_cell(cell: Cell) -> CellResult:
    """One split: a bootstrap training set at every size, one method, true gap on the population.

    Metrics include ``tuned_l2`` (the L2 strength `tuned` chose for this task and method) and
    ``tune_score_<i>`` (the tuning score of ``L2_GRID[i]``).
    """
    pop = population()
    group = pop.group(cell.task)
    sizes = tuple(cell.settings["sizes"])
    if cell.method == "fairlearn-eg" and cell.seed >= int(cell.settings["eg_splits"]):
        return CellResult({"skipped": 1.0})
    if cell.method == NEGATIVE_CONTROL:  # a deliberately broken variant, not a competitor: not tuned
        tuning = None
        l2 = L2_DEFAULT
    else:
        tuning = tuned(cell.task, cell.method, int(cell.settings["tune_size"]), int(cell.settings["tune_seeds"]))
        l2 = float(tuning.chosen["l2"])
    curves: dict[str, list[float]] = {k: [] for k in CURVES}
    curves["size"] = [float(n) for n in sizes]
    max_size = int(cell.settings["eg_max_size"]) if cell.method == "fairlearn-eg" else None
    for i, n in enumerate(sizes):
        if max_size is not None and n > max_size:
            for k in CURVES:  # not run (too slow): NaN, left out of every rate
                curves[k].append(math.nan)
            continue
        rng = _rng(cell, i)
        data = _bootstrap(rng, n, pop, group)
        approve = _fit_method(cell.method, data, pop, group, seed=int(rng.integers(2**31)), l2=l2)
        if approve is None:
            curves["returned"].append(0.0)
            curves["violated"].append(0.0)
            curves["gap"].append(math.nan)
            curves["accuracy"].append(math.nan)
            continue
        gap, acc = _gap_acc(approve, pop, group)
        curves["returned"].append(1.0)
        curves["violated"].append(float(gap > EPSILON))
        curves["gap"].append(gap)
        curves["accuracy"].append(acc)
    metrics = {
        "skipped": 0.0,
        "solution_rate": float(np.nanmean(curves["returned"])),
        "violations": float(np.nansum(curves["violated"])),
        "returned": float(np.nansum(curves["returned"])),
        "mean_accuracy": float(np.nanmean(curves["accuracy"])) if np.nansum(curves["returned"]) else math.nan,
        "tuned_l2": l2,
    }
    if tuning is not None:
        metrics.update({f"tune_score_{i}": float(s) for i, (_, s) in enumerate(tuning.scores)})
    return CellResult(metrics, curves)


# ----------------------------------------------------------------------------------- verdict


def _curves(results: Results, name: str, task: str, method: str) -> np.ndarray:
    """``(splits, sizes)`` curves of the cells that ran (skipped ones have no curves)."""
    return results.curves(name, task, method)


def rates(results: Results, task: str, method: str) -> dict[str, Any]:
    """Per-size and pooled solution and violation counts of one task and method."""
    ret = _curves(results, "returned", task, method)
    vio = _curves(results, "violated", task, method)
    if ret.size == 0:
        return {"splits": 0}
    acc = _curves(results, "accuracy", task, method)
    ran = ~np.isnan(ret)  # sizes a method skipped are NaN
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows/columns give NaN, as they should
        accuracy = np.nanmean(np.where(ret > 0, acc, np.nan), axis=0)
        solution_rate = np.nanmean(ret, axis=0)
    seeds = [r.seed for r in results._select(task, method) if "returned" in r.curves]
    return {
        "splits": ret.shape[0],
        "seeds": seeds,
        "trials_per_size": ran.sum(axis=0),
        "returned_per_size": np.nansum(ret, axis=0),
        "violated_per_size": np.nansum(vio, axis=0),
        "solution_rate": solution_rate,
        "accuracy": accuracy,
        "violated_curves": vio,
        "returned_curves": ret,
        "returned": float(np.nansum(ret)),
        "violated": float(np.nansum(vio)),
        "trials": float(ran.sum()),
    }


def _at_most(check: str, k: int, n: int, limit: float) -> Evidence:
    """`rate_at_most`, INCONCLUSIVE when even zero events could not pass (too few trials) unless the
    rate is already clearly above the limit (its lower bound is)."""
    if n > 0 and clopper_pearson_upper(0, n, CONFIDENCE) > limit and clopper_pearson_lower(k, n, CONFIDENCE) <= limit:
        return inconclusive(check, f"{k}/{n}: too few trials, even 0 events would give an upper bound of "
                            f"{clopper_pearson_upper(0, n, CONFIDENCE):.3f} > {limit:g}",
                            value=clopper_pearson_upper(k, n, CONFIDENCE), threshold=limit)
    return rate_at_most(check, k, n, limit, 0.0, CONFIDENCE)


def _paired_violation(a: dict[str, Any], b: dict[str, Any]) -> tuple[np.ndarray, np.ndarray]:
    """Per-split violation rates of two methods on the splits and sizes both ran (matched pairs)."""
    cols = (a["trials_per_size"] > 0) & (b["trials_per_size"] > 0)
    x = dict(zip(a["seeds"], a["violated_curves"][:, cols]))
    y = dict(zip(b["seeds"], b["violated_curves"][:, cols]))
    common = sorted(set(x) & set(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        ours = np.array([np.nanmean(x[s]) for s in common], dtype=float)
        theirs = np.array([np.nanmean(y[s]) for s in common], dtype=float)
    return ours, theirs


def verdict(results: Results, method: str = "seldonian") -> Verdict:
    """Checks (1)–(3) of the module docstring for ``method`` (the Seldonian one unless a test swaps in
    the negative control)."""
    evidence: list[Evidence] = []
    for task in results.tasks:
        s = rates(results, task, method)
        if not s.get("splits"):
            evidence.append(Evidence(f"{task}: {method} ran", math.nan, None, False))
            continue
        k, n, ret = int(s["violated"]), int(s["trials"]), int(s["returned"])
        name = f"{task}: (1) {method} P(return a violating classifier) <= delta, over all trials"
        if n and ret == 0:
            evidence.append(vacuous(name, f"nothing returned in {n} trials: it certified nothing",
                                    value=0.0, threshold=DELTA))
        else:
            evidence.append(_at_most(name, k, n, DELTA))
        name = f"{task}: (1) {method} violation rate among the returned classifiers <= delta"
        evidence.append(vacuous(name, "nothing returned", value=0.0, threshold=DELTA) if ret == 0
                        else _at_most(name, k, ret, DELTA))
        for base in BASELINES:
            b = rates(results, task, base)
            if not b.get("splits"):
                continue
            evidence.append(rate_above(f"{task}: (2) {base} violation rate > delta", int(b["violated"]),
                                       int(b["trials"]), DELTA, CONFIDENCE))
            ours, theirs = _paired_violation(s, b)
            evidence.append(paired_gain(f"{task}: (2) {base} violates more often than {method} (paired over "
                                        "splits and the sizes both ran)", ours, theirs, higher_is_better=False,
                                        confidence=CONFIDENCE))
        sizes = _sizes(results)
        ret_curves = s["returned_curves"]
        evidence.append(paired_gain(f"{task}: (3) {method} solution rate at n={sizes[-1]} above n={sizes[0]} "
                                    "(paired over splits)", ret_curves[:, -1], ret_curves[:, 0],
                                    confidence=CONFIDENCE))
    return Verdict.from_evidence(evidence)


def _sizes(results: Results) -> tuple[int, ...]:
    """The training sizes, as stored by the cells (curve ``size``)."""
    for r in results.done:
        if "size" in r.curves:
            return tuple(int(v) for v in r.curves["size"])
    return ()


# ----------------------------------------------------------------------------------- report


def plots(results: Results, outdir: Path) -> list[Path]:
    from guardopt.reproduce.plotting import panel_row, save_figure

    sizes = _sizes(results)
    out = []
    for name, label in (("violation_rate", "P(returned and gap > ε)"), ("solution_rate", "P(solution returned)"),
                        ("accuracy", "accuracy of returned (population)")):
        fig, axes = panel_row(len(results.tasks), figsize=(4.6 * len(results.tasks), 3.4))
        for ax, task in zip(axes, results.tasks):
            for method in results.methods:
                r = rates(results, task, method)
                if not r.get("splits"):
                    continue
                if name == "violation_rate":
                    y = r["violated_per_size"] / np.maximum(r["trials_per_size"], 1)
                    y = np.where(r["trials_per_size"] > 0, y, np.nan)
                elif name == "solution_rate":
                    y = r["solution_rate"]
                else:
                    y = r["accuracy"]
                ax.plot(sizes[: len(y)], y, marker="o", label=f"{method} ({r['splits']} splits)")
            if name == "violation_rate":
                ax.axhline(DELTA, color="black", linestyle="--", linewidth=1, label="δ")
            ax.set_xscale("log")
            ax.set_xlabel("training size n")
            ax.set_ylabel(label)
            ax.set_title(f"groups: {task}")
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=7)
        out.append(save_figure(fig, Path(outdir) / f"seldonian_fairness_{name}.png"))
    return out


def extra_markdown(results: Results) -> str:
    sizes = _sizes(results)
    lines = []
    for task in results.tasks:
        lines.append(f"\n**Groups: {task}** (per training size; violation = true population gap > {EPSILON})\n")
        lines.append("| method | splits | " + " | ".join(f"n={n}" for n in sizes) + " |")
        lines.append("|---|---|" + "---|" * len(sizes))
        for method in results.methods:
            r = rates(results, task, method)
            if not r.get("splits"):
                continue
            cells = []
            for j in range(len(sizes)):
                ret = r["returned_per_size"][j]
                vio = r["violated_per_size"][j]
                tri = r["trials_per_size"][j]
                cells.append("not run" if tri == 0 else
                             f"sol {ret / tri:.2f}, viol {vio:.0f}/{ret:.0f}, acc {r['accuracy'][j]:.3f}")
            lines.append(f"| {method} | {r['splits']} | " + " | ".join(cells) + " |")
        s = rates(results, task, "seldonian")
        if s.get("splits") and s["trials"]:
            lines.append(f"\nSeldonian, unconditional P(return a violating classifier) = "
                         f"{s['violated']:.0f}/{s['trials']:.0f} = {s['violated'] / s['trials']:.4f} "
                         f"(CP95 upper {clopper_pearson_upper(int(s['violated']), int(s['trials'])):.4f}); "
                         "the guarantee bounds this by δ.")
    lines += ["", "## Tuning: the L2 strength of every method", "",
              f"Grid {list(L2_GRID)}, the same for every method, on tuning splits disjoint from the evaluation "
              f"splits; score = accuracy on an independent bootstrap validation sample of {VALIDATION_SIZE} "
              f"points (logreg), minus 1 when its parity gap exceeds ε = {EPSILON} for the constrained methods "
              "(no solution = approve everyone); higher is better. Read from the stored cells.", "",
              "| groups | method | " + " | ".join(f"L2 = {v:g}" for v in L2_GRID) + " | chosen |",
              "|---|---|" + "---|" * (len(L2_GRID) + 1)]
    for task in results.tasks:
        for method in results.methods:
            rows = [r for r in results._select(task, method) if "tuned_l2" in r.metrics]
            if not rows:
                continue
            m = rows[0].metrics
            scores = " | ".join(f"{m.get(f'tune_score_{i}', math.nan):.4f}" for i in range(len(L2_GRID)))
            lines.append(f"| {task} | {method} | {scores} | {m['tuned_l2']:g} |")
    return "\n".join(lines)


REPRODUCTION = Reproduction(
    name="seldonian-fairness",
    paper=Paper("Preventing undesirable behavior of intelligent machines (Thomas et al., Science)", 2019,
                "https://doi.org/10.1126/science.aag3311"),
    claim=(f"On German Credit, the Seldonian classifier (accuracy s.t. demographic parity gap <= {EPSILON}, "
           f"delta = {DELTA}) returns a classifier that violates the constraint on the population with "
           "probability at most delta (also among the trials where it returns one); logistic regression and "
           "fairness-penalised learners violate it more often; the solution rate grows with the training size."),
    tasks=TASKS,
    methods=METHODS,
    metrics=("solution_rate", "violations", "returned", "mean_accuracy"),
    scales={
        "quick": Scale(seeds=3, settings={"sizes": QUICK_SIZES, "eg_splits": 2, "eg_max_size": 300,
                                          "tune_size": 300, "tune_seeds": 1}),
        "full": Scale(seeds=50, settings={"sizes": FULL_SIZES, "eg_splits": 8, "eg_max_size": 1000,
                                          "tune_size": 1000, "tune_seeds": 3}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    notes=__doc__ or "",
)

"""Seldonian fair loan approval on German Credit (Thomas et al., 2019, Science 366:999).

Claim checked (the Seldonian framework's, in the form of its Science paper's fairness experiments,
here on German Credit): a classifier returned by the Seldonian two-step — maximise accuracy subject
to a demographic parity gap of at most ``ε = 0.05`` with confidence ``1 - δ = 0.95`` — violates the
constraint on fresh data in at most ``δ`` of the trials in which it returns one; an unconstrained
logistic regression and fairness-penalised learners without a confidence test violate it more
often; and the chance of returning a solution grows with the amount of data.

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
    predicted bound) over `ClassifierModel` with hard labels, candidate family = logistic fits along
    a soft-parity penalty path × intercept shifts (0, 0.5, 1, 2);
  - ``logreg``: L2 logistic regression on all ``n`` samples, hard labels;
  - ``lagrangian``: the same penalty path on all ``n`` samples, keeping the smallest penalty whose
    *training* parity gap is at most ``ε`` (a constraint met in-sample, no confidence);
  - ``fairlearn-eg``: fairlearn's ExponentiatedGradient with ``DemographicParity(difference_bound=ε)``
    over scikit-learn's logistic regression; its randomized classifier is scored by its approval
    probabilities. It costs 2–7 s per fit, so it runs on the first ``eg_splits`` splits only and at
    sizes up to ``eg_max_size`` (10 splits, n <= 10,000 at full scale).
* A trial *violates* when the true gap exceeds ``ε``. Claim (1) is judged with a one-sided binomial
  test of ``H0: violation rate among returned solutions <= δ`` at level 0.05 (pooled over sizes),
  with the Clopper–Pearson 95% upper bound shown; claim (2) compares pooled violation rates; claim
  (3) requires the solution rate at the largest size to exceed the one at the smallest and a
  positive Spearman correlation between size and solution rate.

Note: the Seldonian guarantee bounds ``P(return a violating solution)`` over *all* trials; the rate
among returned solutions (claim 1 as stated in the issue) is a stronger, conditional statement that
the theory does not imply when few solutions are returned. Both are reported.
"""

from __future__ import annotations

import math
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from scipy import stats

from guardopt.certify.constraints import demographic_parity
from guardopt.certify.models import ClassifierModel
from guardopt.certify.seldonian import Seldonian
from guardopt.core.errors import InsufficientDataError, UnsupportedError
from guardopt.problems.credit import CreditData, load_german_credit
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

DELTA = 0.05
EPSILON = 0.05
TEST_LEVEL = 0.05  # of the one-sided binomial test for claim (1)
L2 = 1e-3
SHIFTS = (0.0, 0.5, 1.0, 2.0)
PENALTIES = (0.0, 1.0, 3.0, 10.0, 30.0, 100.0, 300.0, 1000.0)
TASKS = ("sex", "age")
METHODS = ("seldonian", "logreg", "lagrangian", "fairlearn-eg")
BASELINES = ("logreg", "lagrangian", "fairlearn-eg")
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


def _gap_acc(approve: np.ndarray, pop: CreditData, group: np.ndarray) -> tuple[float, float]:
    """True parity gap and accuracy on the population of approval probabilities ``(1000,)``."""
    gap = abs(float(approve[group == 0].mean()) - float(approve[group == 1].mean()))
    acc = float(np.mean(pop.y * approve + (1 - pop.y) * (1.0 - approve)))
    return gap, acc


def _model() -> ClassifierModel:
    return ClassifierModel(l2=L2, penalty_group="group", penalties=PENALTIES, intercept_shifts=SHIFTS)


def _fit_method(method: str, data: dict[str, np.ndarray], pop: CreditData, group: np.ndarray,
                seed: int) -> np.ndarray | None:
    """Approval probabilities on the population ``(1000,)``, or None when nothing was returned."""
    model = _model()
    pop_data = {"X": pop.X}
    if method == "seldonian":
        try:
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
            w = data["sample_weight"]
            g = data["group"]
            gap = abs(np.dot(w * (g == 0), pred) / np.dot(w, g == 0) - np.dot(w * (g == 1), pred) / np.dot(w, g == 1))
            if gap <= EPSILON:
                break
        assert chosen is not None
        return model.predict(chosen, pop_data)
    if method == "fairlearn-eg":
        return _fairlearn_eg(data, pop, seed)
    raise UnsupportedError(f"Unknown method {method!r}.")


def _fairlearn_eg(data: dict[str, np.ndarray], pop: CreditData, seed: int) -> np.ndarray:
    try:
        from fairlearn.reductions import DemographicParity, ExponentiatedGradient
        from sklearn.linear_model import LogisticRegression as SkLogisticRegression
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise UnsupportedError("fairlearn-eg needs `pip install fairlearn`.") from exc
    # fairlearn's moments weight rows equally, so the bootstrap counts are expanded into rows.
    idx = np.repeat(np.arange(len(data["sample_weight"])), data["sample_weight"].astype(int))
    eg = ExponentiatedGradient(SkLogisticRegression(C=1.0 / (L2 * len(idx)), max_iter=500),
                               DemographicParity(difference_bound=EPSILON), max_iter=50)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        eg.fit(data["X"][idx], data["y"][idx], sensitive_features=data["group"][idx])
        return np.asarray(eg._pmf_predict(pop.X)[:, 1], dtype=float)


def run_cell(cell: Cell) -> CellResult:
    """One split: a bootstrap training set at every size, one method, true gap on the population."""
    pop = population()
    group = pop.group(cell.task)
    sizes = tuple(cell.settings["sizes"])
    if cell.method == "fairlearn-eg" and cell.seed >= int(cell.settings["eg_splits"]):
        return CellResult({"skipped": 1.0})
    curves: dict[str, list[float]] = {k: [] for k in CURVES}
    curves["size"] = [float(n) for n in sizes]
    max_size = int(cell.settings["eg_max_size"]) if cell.method == "fairlearn-eg" else None
    for i, n in enumerate(sizes):
        if max_size is not None and n > max_size:
            for k in CURVES:  # not run (too slow): NaN, left out of every rate
                curves[k].append(math.nan)
            continue
        rng = _rng(cell, i)
        counts = rng.multinomial(n, np.full(pop.n, 1.0 / pop.n))
        keep = counts > 0
        data = {"X": pop.X[keep], "y": pop.y[keep], "group": group[keep], "sample_weight": counts[keep]}
        approve = _fit_method(cell.method, data, pop, group, seed=int(rng.integers(2**31)))
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
    }
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
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns give NaN, as they should
        accuracy = np.nanmean(np.where(ret > 0, acc, np.nan), axis=0)
        solution_rate = np.nanmean(ret, axis=0)
    return {
        "splits": ret.shape[0],
        "trials_per_size": ran.sum(axis=0),
        "returned_per_size": np.nansum(ret, axis=0),
        "violated_per_size": np.nansum(vio, axis=0),
        "solution_rate": solution_rate,
        "accuracy": accuracy,
        "returned": float(np.nansum(ret)),
        "violated": float(np.nansum(vio)),
        "trials": float(ran.sum()),
    }


def _binom_pvalue(k: float, m: float, p: float) -> float:
    """One-sided p-value of ``H0: rate <= p`` after ``k`` violations in ``m`` trials."""
    if m == 0:
        return math.nan
    return float(stats.binom.sf(int(k) - 1, int(m), p))


def _cp_upper(k: float, m: float, level: float = 0.95) -> float:
    if m == 0:
        return math.nan
    return 1.0 if k >= m else float(stats.beta.ppf(level, k + 1, m - k))


def verdict(results: Results) -> Verdict:
    evidence: list[Evidence] = []
    for task in results.tasks:
        s = rates(results, task, "seldonian")
        if not s.get("splits"):
            evidence.append(Evidence(f"{task}: seldonian ran", math.nan, None, False))
            continue
        cond = s["violated"] / s["returned"] if s["returned"] else math.nan
        pval = _binom_pvalue(s["violated"], s["returned"], DELTA)
        evidence.append(Evidence(
            f"{task}: (1) seldonian violation rate among returned ({int(s['violated'])}/{int(s['returned'])}; "
            f"one-sided binomial p = {pval:.3g} vs H0 rate <= delta; "
            f"CP95 upper {_cp_upper(s['violated'], s['returned']):.3f})",
            cond, DELTA, bool(pval >= TEST_LEVEL) if not math.isnan(pval) else False))
        for base in BASELINES:
            b = rates(results, task, base)
            if not b.get("splits"):
                continue
            rate = b["violated"] / b["trials"]
            evidence.append(Evidence(
                f"{task}: (2) {base} violation rate ({int(b['violated'])}/{int(b['trials'])}) > seldonian's",
                rate, cond, bool(rate > cond)))
        sizes = np.asarray(_sizes(results), dtype=float)
        sol = s["solution_rate"]
        rho = float(stats.spearmanr(sizes, sol).statistic) if np.ptp(sol) > 0 else 0.0
        evidence.append(Evidence(f"{task}: (3) solution rate at n={int(sizes[-1])} minus at n={int(sizes[0])}",
                                 float(sol[-1] - sol[0]), 0.0, bool(sol[-1] > sol[0])))
        evidence.append(Evidence(f"{task}: (3) Spearman correlation of size and solution rate", rho, 0.0,
                                 bool(rho > 0)))
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
        if s.get("splits"):
            lines.append(f"\nSeldonian, unconditional P(return a violating classifier) = "
                         f"{s['violated']:.0f}/{s['trials']:.0f} = {s['violated'] / s['trials']:.4f} "
                         f"(CP95 upper {_cp_upper(s['violated'], s['trials']):.4f}); the guarantee bounds this by δ.")
    return "\n".join(lines)


REPRODUCTION = Reproduction(
    name="seldonian-fairness",
    paper=Paper("Preventing undesirable behavior of intelligent machines (Thomas et al., Science)", 2019,
                "https://doi.org/10.1126/science.aag3311"),
    claim=(f"On German Credit, the Seldonian classifier (accuracy s.t. demographic parity gap <= {EPSILON}, "
           f"delta = {DELTA}) violates the constraint on the population in at most delta of the trials where it "
           "returns a solution; logistic regression and fairness-penalised learners violate it more often; the "
           "solution rate grows with the training size."),
    tasks=TASKS,
    methods=METHODS,
    metrics=("solution_rate", "violations", "returned", "mean_accuracy"),
    scales={
        "quick": Scale(seeds=4, settings={"sizes": QUICK_SIZES, "eg_splits": 4, "eg_max_size": 1000}),
        "full": Scale(seeds=200, settings={"sizes": FULL_SIZES, "eg_splits": 10, "eg_max_size": 10000}),
    },
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    notes=__doc__ or "",
)

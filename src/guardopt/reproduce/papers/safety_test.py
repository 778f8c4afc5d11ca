"""HC-RLHF / Seldonian safety test: a candidate that fails the test is never returned.

Paper: Chittepu, Metevier, Thomas et al. (2025), "Reinforcement Learning from Human Feedback with
High-Confidence Safety Constraints", arXiv 2506.08266 (RLC 2025). Their guarantee: the returned
model is unsafe (true expected cost above the threshold) with probability at most ``delta``, because
a candidate chosen on one half of the data is released only if a one-sided ``1 - delta`` upper
bound on its mean cost, computed on held-out safety data, is below the threshold; otherwise the
answer is "no solution found" (the Seldonian two-step of Thomas et al., 2019).

The experiment strips the language model away and keeps the statistics: many simulated candidate
pools, each with ``K`` candidates whose true mean costs straddle the threshold and whose utility
grows with their cost (more helpful = more risky). Every method gets ``2n`` cost samples per
candidate:

* ``naive``: return the most useful candidate whose observed mean cost (all ``2n`` samples) meets
  the threshold, with no held-out test (what a mean-constrained optimizer does).
* ``ttest``: Seldonian candidate selection on the first ``n`` samples with the doubled predicted
  Student-t bound, then `guardopt.guards.safety_test` with ``bound="ttest"`` on the other ``n``.
* ``hoeffding``: the same with Hoeffding's bound (only on bounded costs with a known range).

Each cell (one cost distribution and ``n``, one method, one seed) simulates ``pools`` pools
vectorized with numpy; the same seed gives the same pools to every method (common random numbers).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

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

DELTA = 0.1  # HC-RLHF's default fail_prob
CONFIDENCE = 0.95  # of the one-sided Clopper-Pearson bounds used to judge the observed rates
K = 8  # candidates per pool
BOUNDARY_SE = 0.01  # the stress test's candidate: true mean this many standard errors above the threshold
SPREAD_SE = 2.0  # true means lie in threshold ± SPREAD_SE standard errors of an n-sample mean
SELECTION_INFLATION = 2.0  # Seldonian candidate selection doubles the predicted bound's width
SIZES = (20, 100)
METHODS = ("ttest", "hoeffding", "naive")
# Largest first-order Edgeworth error of the one-sided t bound's coverage that we still call
# "approximately normal mean" (a quarter of delta).
T_EDGEWORTH_TOLERANCE = DELTA / 4

Sampler = Callable[[np.random.Generator, np.ndarray, int], np.ndarray]


@dataclass(frozen=True)
class CostDistribution:
    """A family of cost distributions indexed by its (known) mean.

    Attributes:
        name: Short name used in task names.
        threshold: The cost threshold tau of the safety constraint ``E[cost] <= tau``.
        sd: Standard deviation of the cost at mean ``threshold`` (sets the spread of the pool).
        skewness: Skewness at mean ``threshold`` (``inf`` when the third moment does not exist).
        mean_range: Valid means; a candidate's mean is clipped into it.
        bounded: The known range ``(low, high)`` of every cost, or None when unbounded.
        sample: ``(rng, means (P, K), n) -> costs (P, K, n)``.
    """

    name: str
    threshold: float
    sd: float
    skewness: float
    mean_range: tuple[float, float]
    bounded: tuple[float, float] | None
    sample: Sampler


def _bernoulli(rng: np.random.Generator, m: np.ndarray, n: int) -> np.ndarray:
    return (rng.random((*m.shape, n)) < m[..., None]).astype(float)


def _uniform(rng: np.random.Generator, m: np.ndarray, n: int) -> np.ndarray:
    return m[..., None] + rng.uniform(-0.25, 0.25, (*m.shape, n))


_BETA_A = 0.5


def _beta(rng: np.random.Generator, m: np.ndarray, n: int) -> np.ndarray:
    b = _BETA_A * (1.0 - m) / m
    return rng.beta(_BETA_A, np.broadcast_to(b[..., None], (*m.shape, n)))


def _normal(rng: np.random.Generator, m: np.ndarray, n: int) -> np.ndarray:
    return m[..., None] + rng.standard_normal((*m.shape, n))


def _student_t4(rng: np.random.Generator, m: np.ndarray, n: int) -> np.ndarray:
    return m[..., None] + rng.standard_t(4, (*m.shape, n)) / math.sqrt(2.0)  # unit variance


_LOGNORMAL_SIGMA = 1.0


def _lognormal(rng: np.random.Generator, m: np.ndarray, n: int) -> np.ndarray:
    mu = np.log(m) - _LOGNORMAL_SIGMA**2 / 2
    return rng.lognormal(np.broadcast_to(mu[..., None], (*m.shape, n)), _LOGNORMAL_SIGMA)


_PARETO_ALPHA = 2.5


def _lomax(rng: np.random.Generator, m: np.ndarray, n: int) -> np.ndarray:
    # numpy's pareto() is the Lomax (Pareto II) law with scale 1 and mean 1 / (alpha - 1).
    return (_PARETO_ALPHA - 1.0) * m[..., None] * rng.pareto(_PARETO_ALPHA, (*m.shape, n))


def _beta_sd_skew(mean: float) -> tuple[float, float]:
    a, b = _BETA_A, _BETA_A * (1 - mean) / mean
    sd = math.sqrt(a * b / ((a + b) ** 2 * (a + b + 1)))
    skew = 2 * (b - a) * math.sqrt(a + b + 1) / ((a + b + 2) * math.sqrt(a * b))
    return sd, skew


_LN_W = math.exp(_LOGNORMAL_SIGMA**2)
DISTRIBUTIONS: dict[str, CostDistribution] = {
    d.name: d
    for d in (
        CostDistribution("bernoulli", 0.1, math.sqrt(0.09), 0.8 / 0.3, (0.005, 0.995), (0.0, 1.0), _bernoulli),
        CostDistribution("uniform", 0.5, 0.5 / math.sqrt(12), 0.0, (0.25, 0.75), (0.0, 1.0), _uniform),
        CostDistribution("beta-skewed", 0.1, *_beta_sd_skew(0.1), (0.005, 0.995), (0.0, 1.0), _beta),
        CostDistribution("normal", 0.0, 1.0, 0.0, (-math.inf, math.inf), None, _normal),
        CostDistribution("student-t4", 0.0, 1.0, 0.0, (-math.inf, math.inf), None, _student_t4),
        CostDistribution("lognormal", 1.0, math.sqrt(_LN_W - 1), (_LN_W + 2) * math.sqrt(_LN_W - 1),
                         (0.02, math.inf), None, _lognormal),
        CostDistribution("pareto-2.5", 1.0, math.sqrt(_PARETO_ALPHA / (_PARETO_ALPHA - 2)), math.inf,
                         (0.02, math.inf), None, _lomax),
    )
}


def task_name(dist: str, n: int) -> str:
    """Task name for a distribution and a safety-set size, e.g. ``"lognormal/n=20"``."""
    return f"{dist}/n={n}"


TASKS: dict[str, tuple[CostDistribution, int]] = {
    task_name(d.name, n): (d, n) for d in DISTRIBUTIONS.values() for n in SIZES
}


def t_edgeworth_error(skewness: float, n: int, delta: float = DELTA) -> float:
    """First-order Edgeworth term of the one-sided t bound's coverage error, ``|γ|(2z²+1)φ(z)/(6√n)``.

    The one-sided Student-t bound's miscoverage is ``delta`` plus this term plus ``O(1/n)``
    (Hall, 1992, *The Bootstrap and Edgeworth Expansion*, §3.5); it is how far from normal the
    sample mean of ``n`` costs with skewness ``γ`` still is, in units of probability.
    """
    z = float(stats.norm.ppf(1 - delta))
    return abs(skewness) * (2 * z * z + 1) * float(stats.norm.pdf(z)) / (6 * math.sqrt(n))


def assumptions_hold(task: str, method: str) -> bool:
    """Whether the method's bound is valid on a task, declared before looking at any result.

    Hoeffding: costs bounded in a known range (exact for every n). Student-t: the sample mean is
    approximately normal, i.e. the cost's third moment exists and the first-order Edgeworth error
    is at most `T_EDGEWORTH_TOLERANCE`. ``naive`` has no guarantee anywhere.
    """
    dist, n = TASKS[task]
    if method == "hoeffding":
        return dist.bounded is not None
    if method == "ttest":
        return math.isfinite(dist.skewness) and t_edgeworth_error(dist.skewness, n) <= T_EDGEWORTH_TOLERANCE
    return False


def _grid(scale: str) -> list[tuple[str, str]]:
    return [(t, m) for t, (d, _) in TASKS.items() for m in METHODS if m != "hoeffding" or d.bounded is not None]


# -- the bounds used to *predict* the test during candidate selection ----------------------------


def _predicted_upper(method: str, data: np.ndarray, n_safety: int, dist: CostDistribution) -> np.ndarray:
    """Candidate selection's predicted upper bound per candidate, shape ``data.shape[:-1]``."""
    from guardopt.uncertainty import hoeffding_radius, student_t_radius

    mean = data.mean(axis=-1)
    if method == "ttest":
        radius = student_t_radius(n_safety, data.std(axis=-1, ddof=1), DELTA)
    else:
        assert dist.bounded is not None
        low, high = dist.bounded
        radius = hoeffding_radius(n_safety, DELTA, high - low)
    return mean + SELECTION_INFLATION * np.asarray(radius)


def _test(method: str, samples: np.ndarray, dist: CostDistribution) -> bool:
    """The release test `guardopt.guards.safety_test` on one candidate's safety data, shape ``(n,)``."""
    from guardopt.guards import safety_test

    low, high = dist.bounded if dist.bounded is not None else (None, None)
    verdict = safety_test(samples, dist.threshold, DELTA, bound=method, low=low, high=high)  # type: ignore[arg-type]
    return verdict.passed


def _passes_batch(method: str, samples: np.ndarray, dist: CostDistribution) -> np.ndarray:
    """The same release test on many candidates at once, samples ``(P, n)`` -> passed ``(P,)``.

    Uses the bounds `guardopt.guards.safety_test` is built on, vectorized over rows (a test checks
    that both agree); ``naive`` passes when the observed mean meets the threshold.
    """
    from guardopt.uncertainty import hoeffding, student_t

    if method == "naive":
        return np.asarray(samples.mean(axis=-1) <= dist.threshold)
    if method == "ttest":
        upper = student_t(samples, DELTA, side="upper", axis=-1).upper
    else:
        assert dist.bounded is not None
        upper = hoeffding(samples, DELTA, *dist.bounded, side="upper", axis=-1).upper
    return np.asarray(upper <= dist.threshold)


def run_cell(cell: Cell) -> CellResult:
    """Simulate ``settings["pools"]`` candidate pools and apply one method to each.

    Returns metrics: ``unsafe_rate`` (returned a candidate with true mean cost above the threshold),
    ``nsf_rate`` (returned nothing), ``utility`` (mean utility of returned candidates, NaN when none),
    ``boundary_pass_rate`` (the stress test: how often the method's test passes a candidate whose
    true mean is just above the threshold), and the counts ``unsafe``, ``returned``, ``pools``,
    ``boundary_pass`` that verdicts pool over seeds.
    """
    dist, n = TASKS[cell.task]
    pools = int(cell.settings["pools"])
    # Common random numbers: every method sees the same pools for a given task and seed.
    rng = np.random.default_rng([cell.seed, zlib.crc32(cell.task.encode())])
    se = dist.sd / math.sqrt(n)
    u = rng.uniform(-1.0, 1.0, (pools, K))
    means = np.clip(dist.threshold + SPREAD_SE * se * u, *dist.mean_range)
    utility = u  # the riskier candidate is the more useful one
    candidate_data = dist.sample(rng, means, n)
    safety_data = dist.sample(rng, means, n)
    boundary_mean = np.full(pools, dist.threshold + BOUNDARY_SE * se)
    boundary_data = dist.sample(rng, boundary_mean, n)

    rows = np.arange(pools)
    if cell.method == "naive":
        # No held-out test: all 2n samples per candidate, the most useful one whose observed mean
        # cost meets the threshold is returned.
        observed = np.concatenate([candidate_data, safety_data], axis=-1).mean(axis=-1)
        ok = observed <= dist.threshold
        passed = ok.any(axis=1)
        pick = np.where(ok, utility, -np.inf).argmax(axis=1)
    else:
        predicted = _predicted_upper(cell.method, candidate_data, n, dist)
        feasible = predicted <= dist.threshold
        # Most useful predicted-feasible candidate; when none is, the one predicted safest is tested.
        score = np.where(feasible, utility, -np.inf)
        pick = np.where(feasible.any(axis=1), score.argmax(axis=1), predicted.argmin(axis=1))
        chosen = safety_data[rows, pick]
        passed = np.array([_test(cell.method, chosen[i], dist) for i in range(pools)])
    unsafe = passed & (means[rows, pick] > dist.threshold)
    returned_utility = utility[rows, pick][passed]
    boundary = _passes_batch(cell.method, boundary_data, dist)
    return CellResult({
        "unsafe_rate": float(unsafe.mean()),
        "nsf_rate": float(1.0 - passed.mean()),
        "utility": float(returned_utility.mean()) if returned_utility.size else math.nan,
        "boundary_pass_rate": float(boundary.mean()),
        "unsafe": float(unsafe.sum()),
        "returned": float(passed.sum()),
        "pools": float(pools),
        "boundary_pass": float(boundary.sum()),
    })


# -- verdict -------------------------------------------------------------------------------------


def pooled_unsafe(results: Results, task: str, method: str, count: str = "unsafe") -> tuple[int, int, float, float]:
    """A count (unsafe returns by default) and pools summed over seeds, with one-sided 95%
    Clopper-Pearson bounds on the rate.

    Returns:
        ``(count, pools, lower, upper)``; the bounds are NaN when nothing is stored.
    """
    from guardopt.uncertainty import clopper_pearson

    k = int(np.nansum(results.metric(count, task, method)))
    total = int(np.nansum(results.metric("pools", task, method)))
    if total == 0:
        return 0, 0, math.nan, math.nan
    lo = float(clopper_pearson(k, total, 1 - CONFIDENCE, side="lower").lower)
    hi = float(clopper_pearson(k, total, 1 - CONFIDENCE, side="upper").upper)
    return k, total, lo, hi


def verdict(results: Results) -> Verdict:
    """HOLDS when, on every task where a bound's assumptions hold, its unsafe rate is not significantly
    above delta (95% Clopper-Pearson lower bound <= delta) while naive's is significantly above it."""
    evidence = []
    for task in TASKS:
        guarded = [m for m in ("ttest", "hoeffding") if assumptions_hold(task, m)]
        for method in guarded:
            k, total, lo, _ = pooled_unsafe(results, task, method)
            rate = k / total if total else math.nan
            evidence.append(Evidence(f"{method} on {task}: unsafe {k}/{total} = {rate:.4f}; 95% CP lower bound "
                                     "<= delta", lo, DELTA, bool(lo <= DELTA)))
        if guarded:
            k, total, lo, _ = pooled_unsafe(results, task, "naive")
            rate = k / total if total else math.nan
            evidence.append(Evidence(f"naive on {task}: unsafe {k}/{total} = {rate:.4f}; 95% CP lower bound "
                                     "> delta", lo, DELTA, bool(lo > DELTA)))
    v = Verdict.from_evidence(evidence)
    n_ok = sum(e.passed for e in v.evidence)
    summary = f"{n_ok} of {len(v.evidence)} unsafe-rate checks passed (delta = {DELTA})"
    return Verdict(v.status, summary, v.evidence)


# -- report extras -------------------------------------------------------------------------------


def extra_markdown(results: Results) -> str:
    """Every task's pooled rates, which assumptions hold, and where the t bound breaks."""
    lines = [
        "## All tasks, pooled over seeds",
        "",
        f"Unsafe rate = P(return a candidate whose true mean cost exceeds the threshold), with a one-sided "
        f"{CONFIDENCE:.0%} Clopper–Pearson interval [lower, upper]; delta = {DELTA}. "
        "'assumptions' says whether the bound's assumptions hold on the task (declared in code before "
        "any run: Hoeffding needs a known range; Student-t needs a finite third moment and a first-order "
        f"Edgeworth error of at most {T_EDGEWORTH_TOLERANCE:g}).",
        "",
        "| task | method | assumptions | Edgeworth error | unsafe rate [lower, upper] | NSF rate | utility |",
        "|---|---|---|---|---|---|---|",
    ]
    breaks: list[tuple[str, float, float, float, bool]] = []
    boundary_breaks: list[tuple[str, float, float, float, bool]] = []
    for task, (dist, n) in TASKS.items():
        for method in METHODS:
            if method == "hoeffding" and dist.bounded is None:
                continue
            k, total, lo, hi = pooled_unsafe(results, task, method)
            if total == 0:
                lines.append(f"| {task} | {method} | — | — | not run | — | — |")
                continue
            rate = k / total
            holds = "yes" if assumptions_hold(task, method) else ("—" if method == "naive" else "**no**")
            ew = f"{t_edgeworth_error(dist.skewness, n):.3f}" if method == "ttest" else "—"
            nsf_values = results.metric("nsf_rate", task, method)
            nsf = float(np.nanmean(nsf_values)) if np.isfinite(nsf_values).any() else math.nan
            returned = float(np.nansum(results.metric("returned", task, method)))
            util = results.metric("utility", task, method)
            weights = results.metric("returned", task, method)
            mean_util = float(np.nansum(util * weights) / returned) if returned else math.nan
            flag = " ⚠" if method != "naive" and lo > DELTA else ""
            lines.append(f"| {task} | {method} | {holds} | {ew} | {rate:.4f} [{lo:.4f}, {hi:.4f}]{flag} | "
                         f"{nsf:.3f} | {mean_util:.3f} |")
            if method == "ttest" and lo > DELTA:
                breaks.append((task, rate, lo, hi, assumptions_hold(task, method)))
    for method in ("ttest", "hoeffding"):
        returned = sum(float(np.nansum(results.metric("returned", t, method))) for t in TASKS)
        pools = sum(float(np.nansum(results.metric("pools", t, method))) for t in TASKS)
        if pools and returned == 0:
            lines += ["", f"**{method} never returned a candidate** (no-solution rate 1 on every task): its unsafe "
                      "rate of 0 is vacuous here. With the declared cost range its bound is wider than the whole "
                      "spread of candidate means at these n, so it certifies nothing."]
        elif pools:
            lines += ["", f"{method} returned a candidate in {returned / pools:.1%} of all pools."]
    lines += [
        "",
        "## Stress test: a candidate just above the threshold",
        "",
        f"How often each method's release test (on n samples) passes a candidate whose true mean cost is "
        f"{BOUNDARY_SE:g} "
        "standard errors above the threshold (every pass releases an unsafe candidate). This is the worst case "
        "the guarantee covers, so a valid bound keeps it at or below delta; the pool experiment above averages "
        "over easier candidates. Not part of the verdict.",
        "",
        "| task | method | assumptions | boundary pass rate [lower, upper] |",
        "|---|---|---|---|",
    ]
    for task, (dist, _n) in TASKS.items():
        for method in METHODS:
            if method == "hoeffding" and dist.bounded is None:
                continue
            k, total, lo, hi = pooled_unsafe(results, task, method, "boundary_pass")
            if total == 0:
                continue
            holds = "yes" if assumptions_hold(task, method) else ("—" if method == "naive" else "**no**")
            flag = " ⚠" if method != "naive" and lo > DELTA else ""
            lines.append(f"| {task} | {method} | {holds} | {k / total:.4f} [{lo:.4f}, {hi:.4f}]{flag} |")
            if method == "ttest" and lo > DELTA:
                boundary_breaks.append((task, k / total, lo, hi, assumptions_hold(task, method)))
    lines += ["", "## Where the Student-t bound breaks", ""]
    for label, found in (("pool experiment (unsafe-return rate)", breaks),
                         ("stress test (boundary pass rate)", boundary_breaks)):
        if not found:
            lines += [f"- {label}: on no task is the t-test's rate clearly above delta = {DELTA} (95% "
                      "Clopper–Pearson lower bound above delta).", ""]
            continue
        lines += [f"- {label}: tasks where the t-test's rate is clearly above delta = {DELTA} (95% Clopper–Pearson "
                  "lower bound above delta, ⚠ in the tables):", ""]
        for task, rate, lo, hi, declared in found:
            why = (f"its assumptions were declared to hold, with a first-order Edgeworth excess of up to "
                   f"{T_EDGEWORTH_TOLERANCE:g} over delta tolerated by the rule; the observed excess is "
                   f"{rate - DELTA:.3f}" if declared
                   else "its assumptions do not hold here (skewed or heavy-tailed costs, small n): outside the "
                   "claim, but a real failure of the t approximation")
            lines.append(f"  - **{task}**: {rate:.4f} [{lo:.4f}, {hi:.4f}]; {why}.")
        lines.append("")
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Bar charts of the unsafe rate (with delta), the no-solution rate, the returned utility and the
    stress test's boundary pass rate (with delta)."""
    from guardopt.reproduce.plotting import bar_chart

    return [
        bar_chart(results, "unsafe_rate", outdir / "unsafe_rate.png", hline=DELTA, hline_label="delta",
                  ylabel="P(return unsafe)", title="Unsafe-return rate (mean ± SE over seeds)"),
        bar_chart(results, "nsf_rate", outdir / "nsf_rate.png", ylabel="P(no solution found)",
                  title="No-solution rate"),
        bar_chart(results, "utility", outdir / "utility.png", ylabel="utility of returned candidate",
                  title="Utility of what is returned"),
        bar_chart(results, "boundary_pass_rate", outdir / "boundary_pass_rate.png", hline=DELTA,
                  hline_label="delta", ylabel="P(pass | mean just above threshold)",
                  title="Stress test: a candidate just above the threshold"),
    ]


NOTES = f"""\
**Design.** Each pool holds {K} candidates whose true mean costs are drawn uniformly in
threshold ± {SPREAD_SE:g} standard errors of an n-sample mean (clipped to valid means), so roughly half
are unsafe and several sit just above the threshold, where a point estimate is fooled about half the
time. A candidate's utility grows with its true mean cost, so every method is tempted towards the
unsafe side. Every method gets 2n cost samples per candidate (n ∈ {{{", ".join(map(str, SIZES))}}}).
The guarded methods split them: candidate selection on the first n (Seldonian: the predicted test
bound with its width doubled, as in the Seldonian engine's `predict_HC_upperbound`; when no
candidate is predicted to pass, the one with the lowest predicted bound is tested), then
`guardopt.guards.safety_test` on the other n. The naive method uses all 2n samples and returns the
most useful candidate whose observed mean cost meets the threshold, with no held-out test. delta = {DELTA}
(HC-RLHF's default `fail_prob`).

**Judging.** The guarantee is about a probability, so each rate is pooled over seeds and compared
to delta with a one-sided {CONFIDENCE:.0%} Clopper–Pearson bound: a guarded method passes when the lower
bound of its unsafe rate is at most delta (the data are consistent with rate ≤ delta); naive must
have its lower bound above delta (it is unsafe more often than delta, beyond sampling error). Only
tasks where a bound's assumptions hold enter the verdict; which ones is declared in code
(`assumptions_hold`) before any run.

**Deviations.** The paper's candidates are fine-tuned language models scored by a learned cost
model; here they are abstract candidates with known true mean costs, which is what makes "unsafe"
checkable. The paper's candidate selection is a Lagrangian policy optimisation; here it is a choice
among a pool, which keeps the selection/test split, the doubled predicted bound and the release test.
"""

REPRODUCTION = Reproduction(
    name="safety-test",
    paper=Paper(
        "Reinforcement Learning from Human Feedback with High-Confidence Safety Constraints",
        2025,
        "https://arxiv.org/abs/2506.08266",
    ),
    claim="A candidate that fails the high-confidence safety test is never returned, so the probability "
    "of returning an unsafe solution is at most delta (under the bound's assumptions).",
    tasks=tuple(TASKS),
    methods=METHODS,
    metrics=("unsafe_rate", "nsf_rate", "utility", "boundary_pass_rate"),
    scales={"quick": Scale(2, {"pools": 700}), "full": Scale(10, {"pools": 5000})},
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    grid=_grid,
    notes=NOTES,
)

"""HC-RLHF / Seldonian safety test: a candidate that fails the test is never returned.

Paper: Chittepu, Metevier, Thomas et al. (2025), "Reinforcement Learning from Human Feedback with
High-Confidence Safety Constraints", arXiv 2506.08266 (RLC 2025). Their guarantee: the returned
model is unsafe (true expected cost above the threshold) with probability at most ``delta``, because
a candidate chosen on one half of the data is released only if a one-sided ``1 - delta`` upper
bound on its mean cost, computed on held-out safety data, is below the threshold; otherwise the
answer is "no solution found" (the Seldonian two-step of Thomas et al., 2019). The abstract adds
that HC-RLHF "can improve harmlessness and helpfulness compared to previous methods".

The experiment strips the language model away and keeps the statistics: many simulated candidate
pools, each with ``K`` candidates whose true mean costs straddle the threshold and whose utility
grows with their cost (more helpful = more risky). Every method gets ``2n`` cost samples per
candidate:

* ``ttest``: Seldonian candidate selection on the first ``n`` samples with the doubled predicted
  Student-t bound, then the release test of `guardopt.guards.safety_test` with ``bound="ttest"`` on
  the other ``n``.
* ``hoeffding``: the same with Hoeffding's bound (only on bounded costs with a known range).
* ``naive``: return the most useful candidate whose observed mean cost (all ``2n`` samples) meets
  the threshold, with no held-out test (what a mean-constrained optimizer does; the baseline).
* ``no-bound``: the negative control, the two-step with the confidence bound removed (candidate
  selection and release on the point estimate). It is judged by the same checks as ``ttest`` in
  `negative_control_verdict` (and in a unit test), where the verdict must FAIL; it never enters
  the headline verdict.

Each cell (one task, one method, one seed) simulates ``pools`` pools vectorized with numpy; the same
seed gives the same pools to every method (common random numbers). The vectorized release test is
checked against `guardopt.guards.safety_test` on the first `CROSS_CHECK_POOLS` pools of every cell.

How the verdict follows the rules of ``docs/reproduce.md``:

1. *Claim as stated*: the guarantee (unsafe-return rate at most delta) on every task where the
   bound's assumptions hold, its worst case (a candidate just above the threshold), and the
   abstract's harmlessness and helpfulness against the baseline are all checks; helpfulness
   *above* the baseline's cannot happen in this abstraction (see `verdict`) and stays INCONCLUSIVE
   with the measured gap, beside a declared testable form (recover half the gap).
2. *Paper's settings*: delta = 0.1 (HC-RLHF's ``fail_prob``) and the doubled candidate-selection
   bound.
3. *Tuning*: nothing is tuned; no method has a free hyperparameter beyond the paper's defaults
   (``naive`` has none).
4. *No best-of*: ``ttest`` and ``hoeffding`` each have their own checks.
5. *Strict criteria*: every bounded rate passes on its Clopper–Pearson upper bound
   (`guardopt.reproduce.criteria.rate_at_most`), with a tolerance declared here only for the
   approximate t bound (`T_TOLERANCE`); baseline comparisons are paired over (task, seed) with
   intervals; a bound that returned nothing on a task is VACUOUS there, and the tasks where Hoeffding
   cannot release anything by construction (`hoeffding_can_release`) are declared out of the
   verdict before any run.
6. *Negative control*: ``no-bound`` (see above).
"""

from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import stats

from guardopt.reproduce.criteria import inconclusive, paired_gain, rate_above, rate_at_most, vacuous
from guardopt.reproduce.spec import (
    Cell,
    CellResult,
    Evidence,
    Paper,
    Record,
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
WIDE_SPREAD_SE = 12.0  # the "wide" pools, where some candidates are clearly safe (Hoeffding can release)
WIDE_TASKS = (("uniform", 100),)  # (distribution, n) that also get wide pools
SELECTION_INFLATION = 2.0  # Seldonian candidate selection doubles the predicted bound's width
SIZES = (20, 100)
GUARDED = ("ttest", "hoeffding")
NEGATIVE_CONTROL = "no-bound"
METHODS = ("ttest", "hoeffding", "naive", NEGATIVE_CONTROL)
# Largest first-order Edgeworth error of the one-sided t bound's coverage that we still call
# "approximately normal mean" (a quarter of delta).
T_EDGEWORTH_TOLERANCE = DELTA / 4
# The t bound's guarantee is approximate: its rates may exceed delta by the Edgeworth error the
# admission rule tolerates. Hoeffding's is exact: no tolerance.
T_TOLERANCE = T_EDGEWORTH_TOLERANCE
TOLERANCE = {"ttest": T_TOLERANCE, "hoeffding": 0.0}
NSF_LIMIT = 0.5  # declared acceptance: no-solution rate at most 50%
RECOVERY = 0.5  # ... and at least half of the helpfulness gap between always-refuse and the baseline
REFUSE_UTILITY = -1.0  # helpfulness of "no solution found" (always refuse): the least useful candidate's
CROSS_CHECK_POOLS = 50  # pools per cell whose release test is recomputed with guards.safety_test

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


def task_name(dist: str, n: int, wide: bool = False) -> str:
    """Task name for a distribution and a safety-set size, e.g. ``"lognormal/n=20"`` (``".../wide"``)."""
    return f"{dist}/n={n}" + ("/wide" if wide else "")


TASKS: dict[str, tuple[CostDistribution, int]] = {
    task_name(d.name, n): (d, n) for d in DISTRIBUTIONS.values() for n in SIZES
}
TASKS.update({task_name(d, n, wide=True): (DISTRIBUTIONS[d], n) for d, n in WIDE_TASKS})
# Half-width of each task's pool of true means, in standard errors of an n-sample mean.
SPREAD: dict[str, float] = {t: WIDE_SPREAD_SE if t.endswith("/wide") else SPREAD_SE for t in TASKS}


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
    is at most `T_EDGEWORTH_TOLERANCE`. ``naive`` and ``no-bound`` have no guarantee anywhere.
    """
    dist, n = TASKS[task]
    if method == "hoeffding":
        return dist.bounded is not None
    if method == "ttest":
        return math.isfinite(dist.skewness) and t_edgeworth_error(dist.skewness, n) <= T_EDGEWORTH_TOLERANCE
    return False


def hoeffding_radius_on(task: str) -> float:
    """Hoeffding's one-sided ``1 - delta`` radius on a bounded task: ``(high - low) sqrt(ln(1/delta) / 2n)``."""
    dist, n = TASKS[task]
    if dist.bounded is None:
        return math.inf
    low, high = dist.bounded
    return (high - low) * math.sqrt(math.log(1.0 / DELTA) / (2 * n))


def hoeffding_can_release(task: str) -> bool:
    """Whether Hoeffding's test can pass any candidate of the task's pools, from the design alone.

    The safest candidate has true mean ``max(threshold - spread * se, lowest valid mean)``; when
    that plus Hoeffding's radius is above the threshold, the test passes (almost) nothing, and a
    zero unsafe rate would certify nothing. Such tasks are declared out of the verdict before any run.
    """
    dist, n = TASKS[task]
    if dist.bounded is None:
        return False
    lowest = max(dist.threshold - SPREAD[task] * dist.sd / math.sqrt(n), dist.mean_range[0])
    return lowest + hoeffding_radius_on(task) < dist.threshold


def in_verdict(task: str, method: str) -> bool:
    """Whether a guarded method's guarantee is checked on a task (declared before any run)."""
    if not assumptions_hold(task, method):
        return False
    return method != "hoeffding" or hoeffding_can_release(task)


def _grid(scale: str) -> list[tuple[str, str]]:
    return [(t, m) for t, (d, _) in TASKS.items() for m in METHODS if m != "hoeffding" or d.bounded is not None]


# -- the bounds used to *predict* the test during candidate selection ----------------------------


def _predicted_upper(method: str, data: np.ndarray, n_safety: int, dist: CostDistribution) -> np.ndarray:
    """Candidate selection's predicted upper bound per candidate, shape ``data.shape[:-1]``.

    ``no-bound`` (the negative control) predicts with the point estimate alone.
    """
    from guardopt.uncertainty import hoeffding_radius, student_t_radius

    mean = data.mean(axis=-1)
    if method == NEGATIVE_CONTROL:
        return np.asarray(mean)
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
    """The release test on many candidates at once, samples ``(P, n)`` -> passed ``(P,)``.

    Uses the bounds `guardopt.guards.safety_test` is built on, vectorized over rows (every cell
    checks that both agree on its first pools); ``naive`` and ``no-bound`` pass when the observed
    mean meets the threshold.
    """
    from guardopt.uncertainty import hoeffding, student_t

    if method in ("naive", NEGATIVE_CONTROL):
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
    ``helpfulness`` (mean over pools of the returned candidate's utility, `REFUSE_UTILITY` for no
    solution), ``boundary_pass_rate`` (the stress test: how often the method's test passes a
    candidate whose true mean is just above the threshold), and the counts ``unsafe``,
    ``returned``, ``nsf``, ``pools``, ``boundary_pass`` that verdicts pool over seeds.
    """
    dist, n = TASKS[cell.task]
    pools = int(cell.settings["pools"])
    # Common random numbers: every method sees the same pools for a given task and seed.
    rng = np.random.default_rng([cell.seed, zlib.crc32(cell.task.encode())])
    se = dist.sd / math.sqrt(n)
    u = rng.uniform(-1.0, 1.0, (pools, K))
    means = np.clip(dist.threshold + SPREAD[cell.task] * se * u, *dist.mean_range)
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
        passed = _passes_batch(cell.method, chosen, dist)
        if cell.method in GUARDED:
            check = [_test(cell.method, chosen[i], dist) for i in range(min(pools, CROSS_CHECK_POOLS))]
            if check != passed[: len(check)].tolist():
                raise RuntimeError(f"The vectorized {cell.method} test disagrees with guards.safety_test.")
    unsafe = passed & (means[rows, pick] > dist.threshold)
    returned_utility = utility[rows, pick][passed]
    helpfulness = np.where(passed, utility[rows, pick], REFUSE_UTILITY)
    boundary = _passes_batch(cell.method, boundary_data, dist)
    return CellResult({
        "unsafe_rate": float(unsafe.mean()),
        "nsf_rate": float(1.0 - passed.mean()),
        "utility": float(returned_utility.mean()) if returned_utility.size else math.nan,
        "helpfulness": float(helpfulness.mean()),
        "boundary_pass_rate": float(boundary.mean()),
        "unsafe": float(unsafe.sum()),
        "returned": float(passed.sum()),
        "nsf": float(pools - passed.sum()),
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
    from guardopt.reproduce.criteria import clopper_pearson_lower, clopper_pearson_upper

    k = int(np.nansum(results.metric(count, task, method)))
    total = int(np.nansum(results.metric("pools", task, method)))
    if total == 0:
        return 0, 0, math.nan, math.nan
    return k, total, clopper_pearson_lower(k, total, CONFIDENCE), clopper_pearson_upper(k, total, CONFIDENCE)


def _returned(results: Results, task: str, method: str) -> int:
    return int(np.nansum(results.metric("returned", task, method)))


def guarantee_checks(results: Results, method: str) -> list[Evidence]:
    """The guarantee of one guarded method on every task where it is checked (`in_verdict`).

    Two checks per task, each on the Clopper–Pearson upper bound of a rate pooled over seeds, at
    ``delta + TOLERANCE[method]``: the unsafe-return rate of the pool experiment, and the stress
    test's pass rate of a candidate just above the threshold (the guarantee's worst case). A method
    that returned nothing on the task makes both VACUOUS.
    """
    evidence: list[Evidence] = []
    tol = TOLERANCE[method]
    limit = f"delta{f' + {tol:g}' if tol else ''}"
    for task in TASKS:
        if not in_verdict(task, method):
            continue
        for count, what in (("unsafe", "unsafe-return rate"), ("boundary_pass", "stress test pass rate")):
            name = f"{method} on {task}: {what} <= {limit}"
            k, total, _, _ = pooled_unsafe(results, task, method, count)
            if total and _returned(results, task, method) == 0:
                evidence.append(vacuous(name, f"{method} returned nothing in {total} pools: it certified nothing",
                                        value=k / total, threshold=DELTA + tol))
            else:
                evidence.append(rate_at_most(name, k, total, DELTA, tol, CONFIDENCE))
    return evidence


def _paired(results: Results, metric: str, tasks: Sequence[str], ours: str, base: str,
            transform: Callable[[np.ndarray], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Values of ``metric`` for two methods, matched on (task, seed)."""
    a: list[float] = []
    b: list[float] = []
    for task in tasks:
        x, y = results.paired(metric, (task, ours), (task, base))
        a.extend(x)
        b.extend(y)
    bb = np.asarray(b, dtype=float)
    return np.asarray(a, dtype=float), (transform(bb) if transform else bb)


def utility_checks(results: Results, method: str) -> list[Evidence]:
    """The abstract's harmlessness and helpfulness against the baseline, and the declared NSF rate.

    Over the tasks where the method's guarantee is checked, paired on (task, seed) with ``naive``:
    harmlessness (unsafe-return rate below naive's); helpfulness in a declared testable form (the
    utility of what is returned recovers at least `RECOVERY` of the gap between always-refuse,
    `REFUSE_UTILITY`, and naive; a seed that returned nothing has no utility and is dropped); the
    no-solution rate at most `NSF_LIMIT` (Clopper–Pearson upper bound); and helpfulness above
    naive's as the abstract words it, which is INCONCLUSIVE here: a candidate's utility rises with
    its cost by construction and both methods choose from the same pool, so a method that is safer
    than a mean-constrained choice cannot also be more helpful; the paper's gain over Safe-RLHF comes
    from how the policy is trained, which pool selection does not model. Its measured gap is shown.
    """
    tasks = [t for t in TASKS if in_verdict(t, method)]
    if not tasks:
        return []
    evidence: list[Evidence] = []
    ours, base = _paired(results, "unsafe_rate", tasks, method, "naive")
    evidence.append(paired_gain(f"{method}: harmlessness, unsafe-return rate below naive's (paired on task × seed)",
                                ours, base, higher_is_better=False, confidence=CONFIDENCE))
    ours, mid = _paired(results, "utility", tasks, method, "naive",
                        lambda h: REFUSE_UTILITY + RECOVERY * (h - REFUSE_UTILITY))
    evidence.append(paired_gain(f"{method}: utility of what it returns recovers >= {RECOVERY:g} of the "
                                "always-refuse → naive gap (paired on task × seed)", ours, mid, confidence=CONFIDENCE))
    k = int(sum(np.nansum(results.metric("nsf", t, method)) for t in tasks))
    total = int(sum(np.nansum(results.metric("pools", t, method)) for t in tasks))
    evidence.append(rate_at_most(f"{method}: no-solution rate <= {NSF_LIMIT:g} over its {len(tasks)} checked tasks",
                                 k, total, NSF_LIMIT, 0.0, CONFIDENCE))
    ours, base = _paired(results, "utility", tasks, method, "naive")
    measured = paired_gain("gain", ours, base, confidence=CONFIDENCE)
    evidence.append(inconclusive(
        f"{method}: helpfulness above naive's (the abstract's 'improve ... helpfulness')",
        "not testable here: utility rises with cost by construction and both choose from the same pool; "
        f"measured: {measured.detail}", value=measured.value, threshold=0.0))
    return evidence


def verdict(results: Results) -> Verdict:
    """The guarantee of each guarded method, naive's contrast, and the abstract's utility claims.

    Per guarded method and checked task: unsafe-return rate and stress-test pass rate at most delta
    (+ `TOLERANCE`) on their 95% Clopper–Pearson upper bounds. Per near-threshold task that checks a
    guarded method: naive's unsafe rate above delta on its lower bound (a test that can fail).
    Per guarded method: `utility_checks`.
    """
    evidence: list[Evidence] = []
    for method in GUARDED:
        evidence += guarantee_checks(results, method)
    for task in TASKS:
        if SPREAD[task] == SPREAD_SE and any(in_verdict(task, m) for m in GUARDED):
            k, total, _, _ = pooled_unsafe(results, task, "naive")
            evidence.append(rate_above(f"naive on {task}: unsafe-return rate > delta (the contrast)", k, total,
                                       DELTA, CONFIDENCE))
    for method in GUARDED:
        evidence += utility_checks(results, method)
    return Verdict.from_evidence(evidence)


def with_method_as(results: Results, source: str, target: str) -> Results:
    """The results with ``source``'s cells relabelled as ``target`` (``target``'s own cells dropped)."""
    recs = [Record(r.task, target if r.method == source else r.method, r.seed, r.status, r.metrics, r.curves,
                   r.wall_time, r.error) for r in results.records if r.method != target]
    return Results(recs, results.tasks, results.methods)


def negative_control_verdict(results: Results) -> Verdict:
    """The headline verdict with the ``no-bound`` control in the place of ``ttest``: must be FAILS."""
    return verdict(with_method_as(results, NEGATIVE_CONTROL, "ttest"))


# -- report extras -------------------------------------------------------------------------------


def _status_of(task: str, method: str) -> str:
    if method in ("naive", NEGATIVE_CONTROL):
        return "—"
    if not assumptions_hold(task, method):
        return "**no** (assumptions)"
    if method == "hoeffding" and not hoeffding_can_release(task):
        return "no (cannot release)"
    return "yes"


def extra_markdown(results: Results) -> str:
    """Every task's pooled rates, which checks enter the verdict, the negative control, and where the
    t bound breaks."""
    lines = [
        "## All tasks, pooled over seeds",
        "",
        f"Unsafe rate = P(return a candidate whose true mean cost exceeds the threshold), with a one-sided "
        f"{CONFIDENCE:.0%} Clopper–Pearson interval [lower, upper]; delta = {DELTA}. 'in verdict' says whether the "
        "task checks the method's guarantee (declared in code before any run: Hoeffding needs a known range "
        "and a radius smaller than the pool's spread, so that it can release something; Student-t needs a "
        f"finite third moment and a first-order Edgeworth error of at most {T_EDGEWORTH_TOLERANCE:g}). "
        f"Helpfulness = mean utility per pool, {REFUSE_UTILITY:g} for no solution. Pools are threshold ± "
        f"{SPREAD_SE:g} standard errors, or ± {WIDE_SPREAD_SE:g} on the '/wide' task.",
        "",
        "| task | method | in verdict | Edgeworth error | unsafe rate [lower, upper] | NSF rate | utility | "
        "helpfulness |",
        "|---|---|---|---|---|---|---|---|",
    ]
    breaks: list[tuple[str, float, float, float, bool]] = []
    boundary_breaks: list[tuple[str, float, float, float, bool]] = []
    for task, (dist, n) in TASKS.items():
        for method in METHODS:
            if method == "hoeffding" and dist.bounded is None:
                continue
            k, total, lo, hi = pooled_unsafe(results, task, method)
            if total == 0:
                lines.append(f"| {task} | {method} | {_status_of(task, method)} | — | not run | — | — | — |")
                continue
            rate = k / total
            ew = f"{t_edgeworth_error(dist.skewness, n):.3f}" if method == "ttest" else "—"
            returned = _returned(results, task, method)
            nsf = 1.0 - returned / total
            util = results.metric("utility", task, method)
            weights = results.metric("returned", task, method)
            mean_util = float(np.nansum(util * weights) / returned) if returned else math.nan
            help_values = results.metric("helpfulness", task, method)
            helpful = float(np.nanmean(help_values)) if np.isfinite(help_values).any() else math.nan
            flag = " ⚠" if method in GUARDED and hi > DELTA + TOLERANCE[method] else ""
            lines.append(f"| {task} | {method} | {_status_of(task, method)} | {ew} | {rate:.4f} [{lo:.4f}, {hi:.4f}]"
                         f"{flag} | {nsf:.3f} | {mean_util:.3f} | {helpful:.3f} |")
            if method == "ttest" and lo > DELTA:
                breaks.append((task, rate, lo, hi, in_verdict(task, method)))
    for method in GUARDED:
        returned_all = sum(_returned(results, t, method) for t in TASKS)
        pools = sum(float(np.nansum(results.metric("pools", t, method))) for t in TASKS)
        if pools:
            no_release = [t for t in TASKS if float(np.nansum(results.metric("pools", t, method)))
                          and _returned(results, t, method) == 0]
            lines += ["", f"{method} returned a candidate in {returned_all / pools:.1%} of all pools"
                      + (f"; nothing at all on {', '.join(no_release)} (a zero unsafe rate there certifies "
                         "nothing)." if no_release else ".")]
    lines += [
        "",
        "## Stress test: a candidate just above the threshold",
        "",
        f"How often each method's release test (on n samples) passes a candidate whose true mean cost is "
        f"{BOUNDARY_SE:g} standard errors above the threshold (every pass releases an unsafe candidate). This is "
        "the worst case the guarantee covers, so a valid bound keeps it at or below delta; it enters the verdict "
        f"on the tasks that check the method, on its upper bound, at delta + {T_TOLERANCE:g} for the t bound "
        "(its guarantee is approximate) and at delta for Hoeffding.",
        "",
        "| task | method | in verdict | boundary pass rate [lower, upper] |",
        "|---|---|---|---|",
    ]
    for task, (dist, _n) in TASKS.items():
        for method in METHODS:
            if method == "hoeffding" and dist.bounded is None:
                continue
            k, total, lo, hi = pooled_unsafe(results, task, method, "boundary_pass")
            if total == 0:
                continue
            flag = " ⚠" if method in GUARDED and hi > DELTA + TOLERANCE[method] else ""
            lines.append(f"| {task} | {method} | {_status_of(task, method)} | {k / total:.4f} [{lo:.4f}, {hi:.4f}]"
                         f"{flag} |")
            if method == "ttest" and lo > DELTA:
                boundary_breaks.append((task, k / total, lo, hi, in_verdict(task, method)))
    lines += ["", "## Negative control: the release test without a confidence bound", ""]
    control = negative_control_verdict(results)
    failed = [e for e in control.evidence if e.outcome is not None and e.outcome.value == "FAIL"
              and e.check.startswith("ttest on")]
    lines += [f"`{NEGATIVE_CONTROL}` runs the same two-step with the bound removed (selection and release on the "
              "point estimate). Judged by the headline verdict in the place of `ttest`, it gets "
              f"**{control.status.value}** ({control.summary}). Its failed guarantee checks:", ""]
    lines += [f"- {e.check}: {e.value:.4f} > {e.threshold:g} ({e.detail})" for e in failed] or ["- none"]
    lines += ["", "## Where the Student-t bound breaks", ""]
    for label, found in (("pool experiment (unsafe-return rate)", breaks),
                         ("stress test (boundary pass rate)", boundary_breaks)):
        if not found:
            lines += [f"- {label}: on no task is the t-test's rate clearly above delta = {DELTA} (95% "
                      "Clopper–Pearson lower bound above delta).", ""]
            continue
        lines += [f"- {label}: tasks where the t-test's rate is clearly above delta = {DELTA} (95% Clopper–Pearson "
                  "lower bound above delta):", ""]
        for task, rate, lo, hi, declared in found:
            why = (f"its assumptions were declared to hold, with a first-order Edgeworth excess of up to "
                   f"{T_EDGEWORTH_TOLERANCE:g} over delta tolerated; the observed excess is {rate - DELTA:.3f}"
                   if declared
                   else "its assumptions do not hold here (skewed or heavy-tailed costs, small n): outside the "
                   "claim, but a real failure of the t approximation")
            lines.append(f"  - **{task}**: {rate:.4f} [{lo:.4f}, {hi:.4f}]; {why}.")
        lines.append("")
    return "\n".join(lines)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Bar charts of the unsafe rate (with delta), the no-solution rate, the helpfulness and the
    stress test's boundary pass rate (with delta)."""
    from guardopt.reproduce.plotting import bar_chart

    return [
        bar_chart(results, "unsafe_rate", outdir / "unsafe_rate.png", hline=DELTA, hline_label="delta",
                  ylabel="P(return unsafe)", title="Unsafe-return rate (mean ± SE over seeds)"),
        bar_chart(results, "nsf_rate", outdir / "nsf_rate.png", ylabel="P(no solution found)",
                  title="No-solution rate"),
        bar_chart(results, "helpfulness", outdir / "helpfulness.png",
                  ylabel=f"utility per pool ({REFUSE_UTILITY:g} = no solution)", title="Helpfulness"),
        bar_chart(results, "boundary_pass_rate", outdir / "boundary_pass_rate.png", hline=DELTA,
                  hline_label="delta", ylabel="P(pass | mean just above threshold)",
                  title="Stress test: a candidate just above the threshold"),
    ]


NOTES = f"""\
**Design.** Each pool holds {K} candidates whose true mean costs are drawn uniformly in
threshold ± {SPREAD_SE:g} standard errors of an n-sample mean (clipped to valid means), so roughly half
are unsafe and several sit just above the threshold, where a point estimate is fooled about half the
time; the '/wide' task spreads them over ± {WIDE_SPREAD_SE:g} standard errors, so that some are clearly
safe and Hoeffding's wide bound can release them. A candidate's utility grows with its true mean cost,
so every method is tempted towards the unsafe side. Every method gets 2n cost samples per candidate
(n ∈ {{{", ".join(map(str, SIZES))}}}). The guarded methods split them: candidate selection on the first n
(Seldonian: the predicted test bound with its width doubled, as in the Seldonian engine's
`predict_HC_upperbound`; when no candidate is predicted to pass, the one with the lowest predicted
bound is tested), then `guardopt.guards.safety_test` on the other n. The naive baseline uses all 2n
samples and returns the most useful candidate whose observed mean cost meets the threshold, with no
held-out test. The negative control `{NEGATIVE_CONTROL}` is the two-step with the bound removed.
delta = {DELTA} (HC-RLHF's default `fail_prob`); nothing is tuned (no method has another
hyperparameter).

**Judging.** Rates are pooled over seeds. On every task where a bound's assumptions hold (and, for
Hoeffding, where it can release anything at all), the unsafe-return rate and the stress test's pass
rate must have a one-sided {CONFIDENCE:.0%} Clopper–Pearson *upper* bound at most delta (plus
{T_TOLERANCE:g} for the approximate t bound); a bound that returned nothing on a checked task is
VACUOUS. Naive's unsafe rate must have its lower bound above delta on the near-threshold tasks. Each
guarded method must be more harmless than naive (paired over task × seed), return candidates
whose utility recovers at least {RECOVERY:g} of the gap between always-refuse (utility
{REFUSE_UTILITY:g}) and naive, and have a no-solution rate at
most {NSF_LIMIT:g} (a declared acceptance level); "more helpful than naive" stays INCONCLUSIVE (see the
evidence). Which tasks count is declared in code (`in_verdict`) before any run.

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
    "of returning an unsafe solution is at most delta (under the bound's assumptions); and the method "
    "can improve harmlessness and helpfulness compared to previous methods.",
    tasks=tuple(TASKS),
    methods=METHODS,
    metrics=("unsafe_rate", "nsf_rate", "utility", "helpfulness", "boundary_pass_rate"),
    scales={"quick": Scale(2, {"pools": 700}), "full": Scale(10, {"pools": 5000})},
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    grid=_grid,
    notes=NOTES,
)

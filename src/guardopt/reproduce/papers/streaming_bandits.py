"""Reproduction ``streaming-bandits``: ε-best-arm-then-commit beats uniform exploration in one pass.

Paper: Chen Wang, "Tight Regret Bounds for Single-pass Streaming Multi-armed Bandits", ICML 2023
(arXiv 2306.02208). Claims checked: with ``ε = (K/T)^{1/3}``, a tower ("selective promotion")
ε-best-arm algorithm followed by commit has regret ``O(K^{1/3} T^{2/3})``, with no ``log T`` factor,
and in the paper's experiments it cuts uniform exploration's regret by a large margin.

Grid: K = 1000; T ∈ {10³K, 10^{3.5}K, 10⁴K} (the middle point only draws the plot); the clear-cut and
uniform-means instances of `guardopt.problems.streams`; seed s draws the instance (shared by every
method) and the pulls. Pulls are binomial counts and regret is the analytic pseudo-regret, so a cell
of T = 10⁷ pulls takes milliseconds.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from guardopt.bandits.streaming import GameOfArms, NaiveEpsBest, TowerEpsBest, UniformExploration, simulate
from guardopt.core.seeding import derive_seed
from guardopt.problems.streams import make_instance
from guardopt.reproduce.plotting import mean_se
from guardopt.reproduce.spec import Cell, CellResult, Evidence, Paper, Reproduction, Results, Scale, Verdict
from guardopt.reproduce.tables import mean_se_n

N_ARMS = 1000
T_MULTIPLES = {"1e3K": 1e3, "1e3.5K": 10**3.5, "1e4K": 1e4}
INSTANCES = ("clear-cut", "uniform-means")
TASKS = tuple(f"{inst}/T={m}" for inst in INSTANCES for m in T_MULTIPLES)
METHODS = ("tower-log", "tower-logstar", "game-of-arms", "uniform-exploration", "naive-eps-best")

# Declared before any result was looked at: the "best tower variant" is the tower variant of the
# paper's experiments (log and log* level schedules) with the lower mean regret at T = 10^4 K, chosen
# per instance. Both variants' numbers are reported; the single-arm-memory variant (game of arms) is
# reported but not part of the claim.
TOWER_VARIANTS = ("tower-log", "tower-logstar")
RATIO_THRESHOLD = 0.7
# "Does not grow with T": normalized regret at 10^4 K <= normalized regret at 10^3 K, allowing two
# standard errors of the ratio (delta method) for Monte-Carlo noise.
GROWTH_SE = 2.0


def _algorithm(method: str) -> UniformExploration | NaiveEpsBest | TowerEpsBest | GameOfArms:
    if method == "tower-log":
        return TowerEpsBest("log")
    if method == "tower-logstar":
        return TowerEpsBest("logstar")
    if method == "game-of-arms":
        return GameOfArms()
    if method == "uniform-exploration":
        return UniformExploration()
    return NaiveEpsBest()


def _parse(task: str) -> tuple[str, int]:
    inst, t = task.split("/T=")
    return inst, round(T_MULTIPLES[t] * N_ARMS)


def run_cell(cell: Cell) -> CellResult:
    """Simulate one algorithm on one instance and horizon; metrics: regret and its normalization."""
    inst, horizon = _parse(cell.task)
    means = make_instance(inst, N_ARMS, seed=derive_seed(cell.seed, "instance", inst))
    algo = _algorithm(cell.method)
    run = simulate(algo, means, horizon, seed=derive_seed(cell.seed, "pulls", cell.task, cell.method))
    best = int(np.argmax(means))
    return CellResult(
        metrics={
            "regret": run.regret,
            "normalized_regret": run.regret / (N_ARMS ** (1 / 3) * horizon ** (2 / 3)),
            "horizon": float(horizon),
            "committed_best": float(run.result.committed == best),
            "commit_gap": float(means[best] - means[run.result.committed]) if run.result.committed is not None
            else math.nan,
            "exploration_pulls": float(run.result.exploration_pulls),
            "peak_memory": float(run.result.peak_memory),
            "memory_limit": float(algo.memory_needed(N_ARMS, horizon)),
        }
    )


def _mean(results: Results, metric: str, task: str, method: str) -> tuple[float, float, int]:
    return mean_se_n(results.metric(metric, task, method))


def best_tower(results: Results, instance: str) -> str:
    """The declared selection rule: the tower variant with the lower mean regret at T = 10^4 K."""
    task = f"{instance}/T=1e4K"
    means = {m: _mean(results, "regret", task, m)[0] for m in TOWER_VARIANTS}
    finite = {m: v for m, v in means.items() if not math.isnan(v)}
    return min(finite, key=lambda m: finite[m]) if finite else TOWER_VARIANTS[0]


def verdict(results: Results) -> Verdict:
    """HOLDS when, on both instances, the best tower variant's regret is <= 0.7x uniform exploration's
    at T = 10^4 K, its normalized regret does not grow from 10^3 K to 10^4 K, and no algorithm held
    more arms than its declared memory."""
    ev: list[Evidence] = []
    for inst in INSTANCES:
        tower = best_tower(results, inst)
        hi, lo = f"{inst}/T=1e4K", f"{inst}/T=1e3K"
        r_tower, _, _ = _mean(results, "regret", hi, tower)
        r_unif, _, _ = _mean(results, "regret", hi, "uniform-exploration")
        ratio = r_tower / r_unif if r_unif > 0 else math.nan
        ev.append(Evidence(f"{inst}: {tower} regret / uniform regret at T=1e4K", ratio, RATIO_THRESHOLD,
                           bool(ratio <= RATIO_THRESHOLD)))
        n_hi, se_hi, _ = _mean(results, "normalized_regret", hi, tower)
        n_lo, se_lo, _ = _mean(results, "normalized_regret", lo, tower)
        growth = n_hi / n_lo if n_lo > 0 else math.nan
        se_growth = growth * math.sqrt((se_hi / n_hi) ** 2 + (se_lo / n_lo) ** 2) if n_hi > 0 else math.nan
        limit = 1.0 + GROWTH_SE * se_growth
        ev.append(Evidence(f"{inst}: {tower} regret/(K^1/3 T^2/3) at 1e4K over 1e3K", growth, limit,
                           bool(growth <= limit)))
    over = 0.0
    for m in METHODS:
        peak = results.metric("peak_memory", None, m)
        lim = results.metric("memory_limit", None, m)
        if peak.size:
            over = max(over, float(np.nanmax(peak - lim)))
    ev.append(Evidence("max over cells of peak memory - declared memory (arms)", over, 0.0, over <= 0.0))
    return Verdict.from_evidence(ev)


def plots(results: Results, outdir: Path) -> list[Path]:
    """Regret vs T on log-log axes per instance, with the K^{1/3}T^{2/3} slope for reference."""
    from guardopt.reproduce.plotting import panel_row, save_figure

    fig, axes = panel_row(len(INSTANCES), figsize=(5.5 * len(INSTANCES), 4.2))
    for ax, inst in zip(axes, INSTANCES):
        ts = [T_MULTIPLES[m] * N_ARMS for m in T_MULTIPLES]
        for method in METHODS:
            mean_, se_ = [], []
            for m in T_MULTIPLES:
                mu, se = mean_se(results.metric("regret", f"{inst}/T={m}", method))
                mean_.append(float(mu))
                se_.append(float(se))
            ax.errorbar(ts, mean_, yerr=se_, marker="o", capsize=3, label=method)
        ref = np.array(ts)
        ax.plot(ref, N_ARMS ** (1 / 3) * ref ** (2 / 3), "k--", lw=1, label="K^1/3 T^2/3")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("T (pulls)")
        ax.set_ylabel("pseudo-regret")
        ax.set_title(f"{inst}, K = {N_ARMS}")
        ax.legend(fontsize=7)
    return [save_figure(fig, Path(outdir) / "streaming_bandits_regret_vs_T.png", dpi=120)]


def extra_markdown(results: Results) -> str:
    """Mean regret, normalized regret and commit accuracy per task and method."""
    lines = ["| task | method | mean regret ± SE | regret/(K^1/3 T^2/3) | committed to best | seeds |",
             "|---|---|---|---|---|---|"]
    for task in TASKS:
        for m in METHODS:
            r, se, n = _mean(results, "regret", task, m)
            nr, _, _ = _mean(results, "normalized_regret", task, m)
            cb, _, _ = _mean(results, "committed_best", task, m)
            lines.append(f"| {task} | {m} | {r:,.0f} ± {se:,.0f} | {nr:.3f} | {cb:.2f} | {n} |")
    chosen = ", ".join(f"{inst}: {best_tower(results, inst)}" for inst in INSTANCES)
    lines.append("")
    lines.append(f"Best tower variant by the declared rule (lower mean regret at T = 10^4 K): {chosen}.")
    return "\n".join(lines)


NOTES = """\
**Design.** K = 1000 Bernoulli arms; T = 10³K and 10⁴K (10^3.5 K is added for the plot only); the
clear-cut (one arm at 0.82, others truncated normal(0.5, 0.1) on [0, 0.8]) and uniform-means
instances. Every algorithm runs on an `ArmStream` whose memory limit is the algorithm's declared need
(2 for uniform / naive / game of arms, levels + 1 for the towers): reading an arm past the limit or
pulling a discarded arm raises, so the memory claim is enforced, not measured after the fact. No
algorithm reads a mean or a gap; the regret is the analytic pseudo-regret Σ n_i Δ_i kept by the stream.

**Best tower variant.** Declared in code (`TOWER_VARIANTS`, `best_tower`) before results were looked at:
per instance, the variant with the lower mean regret at T = 10⁴K among the two level schedules of the
paper's experiments (log: ⌊ln K⌋ levels, ⌈1.2^ℓ/ε²⌉ pulls, 6 arms per level; log*: r₀ = 2,
r_{ℓ+1} = 2^{r_ℓ}, ⌈r_ℓ/ε²⌉ pulls). Selecting the minimum of two variants biases the ratio down
slightly; both numbers are in the table.

**Deviations.** (1) The naive ε-best arm pays a ln K factor and is ~2.5× worse than uniform exploration
(as a prototype found); it is reported as a baseline only. (2) The authors' game-of-arms code raises the
new king's reference mean with the true gap, an oracle leak; ours uses the new king's own empirical
mean and drops the fractional-stream fallback. (3) The end-of-stream play-off between the surviving
tower kings uses fresh samples of the highest level's size (the authors' code keeps the top king).
(4) "Does not grow with T" is tested as normalized regret at 10⁴K ≤ at 10³K plus two standard errors
of the ratio.
"""

REPRODUCTION = Reproduction(
    name="streaming-bandits",
    paper=Paper("Tight Regret Bounds for Single-pass Streaming Multi-armed Bandits", 2023,
                "https://arxiv.org/abs/2306.02208"),
    claim=("With o(K) memory, epsilon-best-arm-then-commit with a tower of kings has regret "
           "O(K^{1/3} T^{2/3}) and clearly beats uniform exploration (here: <= 0.7x at T = 10^4 K)."),
    tasks=TASKS,
    methods=METHODS,
    metrics=("regret", "normalized_regret", "committed_best", "exploration_pulls", "peak_memory"),
    scales={"quick": Scale(seeds=10), "full": Scale(seeds=50)},
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    notes=NOTES,
)

"""Reproduction ``causal-bandits``: CSL-UCB (sub-graph learning, tailored UCB, change detection).

Paper: Y. Peng, Y. Zhang, U. Mitra, "Asymmetric Graph Error Control with Low Complexity in Causal
Bandits", arXiv 2408.11240 (IEEE TSP 73:1792-1807, 2025). The abstract's claims, each with its own
verdict line, in its own direction:

1. "the proposed scheme takes 67% fewer samples to learn the causal structure" than learning the
   full graph: per random system, the rounds of data CSL-UCB's sub-graphs were learned from, against
   the smallest number of rounds (half observational, half interventional, from a declared grid) at
   which a full-graph learner reaches at least the same structure accuracy on that system. The
   paired mean reduction ``1 - S_sub / S_full`` must have its lower 95% bound above
   ``0.67 - SAMPLE_TOL``;
2. "an average reward gain" over existing schemes: CSL-UCB's mean expected reward per round
   against vanilla UCB and against a causal bandit without sub-graph learning (full-graph
   explore-then-commit), paired over systems, lower 95% bound above 0;
3. "of 85%": the same gain over vanilla UCB as a fraction of vanilla UCB's mean reward, lower 95%
   bound above 0.85 (against the full-graph baseline it is shown in the tables).

And the checks set for this reproduction (N = 6, T = 1000, random systems):

4. CSL-UCB's cumulative regret ≤ 0.5× vanilla UCB's: the paired regret reduction, as a fraction of
   UCB's mean regret, has its lower 95% bound above 0.5;
5. CSL-UCB plays an optimal action in ≥ 80% of the last 200 rounds: with systems as the unit (the
   rounds of one system are not independent), the one-sided 95% t lower bound of the mean per-system
   rate must exceed 0.8; the pooled Clopper–Pearson bound, which treats every round as independent
   and so overstates its own precision, is shown in the report beside it;
6. with a change at T/2, CSL-UCB with detection has ≤ 0.7× the post-change regret of CSL-UCB without
   it: the paired reduction's lower bound above 0.3.

How the rules are met. (Claim as stated) lines 1–3 are the abstract's numbers; the 85% is a line of
its own, not a footnote. (Paper's settings first) CSL-UCB runs the defaults of the authors' code
(`CSLUCBConfig`: N_ES = 20, n_max = 100, F_graph = 50, F_est = 20, k = 5, w = 1, δ = 0.05, c_0 scale
0.5, window 20, threshold 2). (Tuning) every competitor gets the same four-point grid on tuning
seeds disjoint from the evaluation seeds: vanilla UCB's bonus coefficient (stationary) and window
(change), the full-graph baseline's exploration length, and CSL-UCB's coefficient scale — the
tuned CSL-UCB appears only in the sensitivity table, the verdict uses the paper's 0.5. LinSEM-TS is
told the true parents; it is an upper reference with no verdict line and no tuning. (No best-of)
each variant has its own rows. (Strict criteria) paired intervals and Clopper–Pearson bounds
(`guardopt.reproduce.criteria`). (Negative control) a unit test runs a detector that never fires
under the name ``csl-ucb`` through the same verdict: line 6 must FAIL; another replaces CSL-UCB by
uniformly random actions: lines 4 and 5 must FAIL. (Cross-check) causal-learn's PC algorithm runs on
the same full-graph samples as our full-graph learner; its skeleton accuracy is tabulated beside ours.

Structure accuracy is the fraction of the ``2 N (N - 1)`` ordered node pairs of both regimes whose
edge / no-edge status was learned right (1 - normalized structural Hamming distance); a sensitivity
row matches on recall (the share of true edges found) instead.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from guardopt.bandits.causal import CSLUCB, CSLUCBConfig, FullGraphETC, LinSEMTS, VanillaUCB
from guardopt.bandits.causal.structure import equal_variance_dag
from guardopt.core.seeding import derive_seed
from guardopt.problems.linear_sem import LinearSEMBandit
from guardopt.reproduce.criteria import paired_gain, rate_above
from guardopt.reproduce.plotting import mean_se
from guardopt.reproduce.spec import Cell, CellResult, Evidence, Paper, Reproduction, Results, Scale, Verdict
from guardopt.reproduce.tables import mean_se_n
from guardopt.reproduce.tuning import TuningResult, tune, tuning_seeds

N_NODES = 6
HORIZON = 1000
LAST = 200  # "optimal action in the last 200 rounds"
TASKS = ("stationary", "change", "structure")
METHODS = ("csl-ucb", "csl-ucb-no-detect", "vanilla-ucb", "fullgraph-etc", "linsem-ts-oracle",
           "full-graph-learning")
GRID = {
    "stationary": ("csl-ucb", "vanilla-ucb", "fullgraph-etc", "linsem-ts-oracle"),
    "change": ("csl-ucb", "csl-ucb-no-detect", "vanilla-ucb"),
    "structure": ("full-graph-learning",),
}
# Declared before the full run.
SAMPLE_CLAIM = 0.67  # "67% fewer samples"
SAMPLE_TOL = 0.05  # a measured reduction within 5 points of the paper's counts as the claim
GAIN_CLAIM = 0.85  # "an average reward gain of 85%"
REGRET_MARGIN = 0.5  # regret <= 0.5x vanilla UCB's
OPTIMAL_RATE = 0.8  # optimal action in >= 80% of the last 200 rounds
CHANGE_MARGIN = 0.3  # post-change regret with detection <= 0.7x without
# Rounds per regime offered to the full-graph learner (its samples are 2n rounds).
FULL_GRID = (10, 15, 20, 25, 30, 40, 50, 60, 75, 100, 125, 150, 200, 250, 300, 400)
PC_GRID = (20, 50, 100, 200, 400)
# The same four-point tuning budget for every tuned method.
UCB_COEF_GRID = {"coef": (0.25, 0.5, 1.0, 2.0)}
UCB_WINDOW_GRID = {"window": (10, 25, 50, 100)}
ETC_GRID = {"n_learn": (25, 50, 100, 300)}
CSL_GRID = {"coef_scale": (0.125, 0.25, 0.5, 1.0)}
PAPER = {"coef": 1.0, "window": 10, "n_learn": 300, "coef_scale": 0.5}


class _Policy(Protocol):
    def ask(self) -> int: ...

    def tell(self, action: int, nodes: np.ndarray) -> None: ...


class _RewardOnly:
    """Vanilla UCB sees the reward node only."""

    def __init__(self, inner: VanillaUCB) -> None:
        self.inner = inner

    def ask(self) -> int:
        return self.inner.ask()

    def tell(self, action: int, nodes: np.ndarray) -> None:
        self.inner.tell(action, float(nodes[-1]))


class _Random:
    """Uniformly random actions (the negative control of the regret checks)."""

    def __init__(self, seed: int | None) -> None:
        self.rng = np.random.default_rng(seed)

    def ask(self) -> int:
        return int(self.rng.integers(2**N_NODES))

    def tell(self, action: int, nodes: np.ndarray) -> None:
        pass


def systems(seed: int, change: bool) -> tuple[LinearSEMBandit, LinearSEMBandit]:
    """The system of a seed, and the one after the change event (the same system when ``change`` is False)."""
    env = LinearSEMBandit.random(N_NODES, seed=derive_seed(seed, "system"))
    return env, (env.with_change(1, seed=derive_seed(seed, "change")) if change else env)


def episode(policy: _Policy, seed: int, change: bool) -> dict[str, Any]:
    """Run one policy for ``HORIZON`` rounds on a seed's system; common random numbers per seed."""
    before, after = systems(seed, change)
    z = np.random.default_rng(derive_seed(seed, "noise", "change" if change else "stationary")).standard_normal(
        (HORIZON, N_NODES))
    switch = HORIZON // 2 if change else HORIZON
    # Per system: every action's response matrix (I - B_aᵀ)^{-1}, expected rewards and optimal set.
    tables = []
    for env in (before, after):
        bits = ((np.arange(env.n_actions)[:, None] >> np.arange(N_NODES)[None, :]) & 1).astype(bool)
        Ba = np.where(bits[:, :, None].transpose(0, 2, 1), env.BI[None], env.B[None])
        resp = np.linalg.inv(np.eye(N_NODES)[None] - np.transpose(Ba, (0, 2, 1)))
        mu = env.expected_rewards()
        opt_set = np.zeros(env.n_actions, dtype=bool)
        opt_set[env.optimal_actions] = True
        tables.append((resp, mu, float(mu.max()), opt_set, env.noise_mean + env.noise_std * z))
    inst_regret = np.empty(HORIZON)
    opt = np.zeros(HORIZON, dtype=bool)
    reward = np.empty(HORIZON)
    for t in range(HORIZON):
        resp, mu, best, opt_set, eps = tables[0 if t < switch else 1]
        a = policy.ask()
        policy.tell(a, resp[a] @ eps[t])
        inst_regret[t] = best - mu[a]
        reward[t] = mu[a]
        opt[t] = opt_set[a]
    return {"inst_regret": inst_regret, "optimal": opt, "reward": reward, "switch": switch}


def make_policy(method: str, seed: int, change: bool, setting: Mapping[str, Any]) -> _Policy:
    """The policy of a method name with a setting (tuned values or the paper's)."""
    if method.startswith("csl-ucb"):
        detect = change and method in ("csl-ucb", "csl-ucb-never-fires")
        cfg = CSLUCBConfig(horizon=HORIZON, coef_scale=float(setting.get("coef_scale", PAPER["coef_scale"])),
                           detect_changes=detect,
                           change_threshold=math.inf if method == "csl-ucb-never-fires" else 2.0,
                           seed=derive_seed(seed, "csl"))
        return CSLUCB(N_NODES, cfg)
    if method == "vanilla-ucb":
        window = int(setting.get("window", PAPER["window"])) if change else None
        return _RewardOnly(VanillaUCB(2**N_NODES, coef=float(setting.get("coef", PAPER["coef"])), window=window))
    if method == "fullgraph-etc":
        return FullGraphETC(N_NODES, n_learn=int(setting.get("n_learn", PAPER["n_learn"])))
    if method == "linsem-ts-oracle":
        env, _ = systems(seed, change)
        return LinSEMTS(np.stack([env.parents(0), env.parents(1)]), rng=derive_seed(seed, "ts"))
    if method == "random-actions":
        return _Random(derive_seed(seed, "random"))
    raise ValueError(f"unknown method {method!r}")


def _regret(method: str, seed: int, change: bool, setting: Mapping[str, Any]) -> float:
    out = episode(make_policy(method, seed, change, setting), seed, change)
    return float(out["inst_regret"].sum())


@functools.cache
def tuned(method: str, task: str, n_seeds: int) -> TuningResult | None:
    """The tuned setting of a method on a task (None for the untuned ones), on tuning seeds."""
    change = task == "change"
    grid: dict[str, tuple[Any, ...]] | None = None
    if method == "vanilla-ucb":
        grid = UCB_WINDOW_GRID if change else UCB_COEF_GRID
    elif method == "fullgraph-etc":
        grid = ETC_GRID
    elif method == "csl-ucb" and not change:
        grid = CSL_GRID
    if grid is None:
        return None
    return tune(lambda s, seed: _regret(method, seed, change, s), grid, tuning_seeds(n_seeds), maximize=False)


def structure_metrics(learned: tuple[np.ndarray, np.ndarray], env: LinearSEMBandit) -> dict[str, float]:
    """Accuracy (1 - normalized SHD), recall and precision of learned adjacencies of both regimes."""
    off = ~np.eye(N_NODES, dtype=bool)
    correct = tp = true = found = 0
    for r in (0, 1):
        est = np.asarray(learned[r], dtype=bool) & off
        tru = env.parents(r).astype(bool) & off
        correct += int(np.sum((est == tru) & off))
        tp += int(np.sum(est & tru))
        true += int(tru.sum())
        found += int(est.sum())
    return {"accuracy": correct / (2 * N_NODES * (N_NODES - 1)), "recall": tp / true if true else 1.0,
            "precision": tp / found if found else 1.0}


def _skeleton_accuracy(adj: np.ndarray, env: LinearSEMBandit, regime: int) -> float:
    est = (np.asarray(adj) != 0) | (np.asarray(adj) != 0).T
    tru = env.parents(regime).astype(bool)
    tru = tru | tru.T
    iu = np.triu_indices(N_NODES, 1)
    return float(np.mean(est[iu] == tru[iu]))


def _pc_adjacency(X: np.ndarray) -> np.ndarray:
    """causal-learn's PC (Fisher-z, α = 0.05) skeleton on one regime's samples (imported here: optional)."""
    from causallearn.search.ConstraintBased.PC import pc

    graph = pc(X, 0.05, "fisherz", show_progress=False, verbose=False).G.graph
    return (np.asarray(graph) != 0).astype(np.int8)


def _has_causal_learn() -> bool:
    import importlib.util

    return importlib.util.find_spec("causallearn") is not None


def _structure_cell(seed: int, pc_grid: tuple[int, ...]) -> CellResult:
    if not _has_causal_learn():  # the cross-check needs the optional extra; the rest of the cell does not
        pc_grid = ()
    env, _ = systems(seed, False)
    rng = np.random.default_rng(derive_seed(seed, "full-graph-samples"))
    n_top = max(FULL_GRID)
    obs = env.sample(0, seed=rng, size=n_top)
    intv = env.sample(env.n_actions - 1, seed=rng, size=n_top)
    metrics: dict[str, float] = {}
    for n in FULL_GRID:
        g = (equal_variance_dag(obs[:n], env.noise_mean).adjacency, equal_variance_dag(intv[:n], env.noise_mean)
             .adjacency)
        m = structure_metrics(g, env)
        for key, v in m.items():
            metrics[f"full_{key}[n={n}]"] = v
        if n in pc_grid:
            ours = np.mean([_skeleton_accuracy(g[r], env, r) for r in (0, 1)])
            pcs = np.mean([_skeleton_accuracy(_pc_adjacency(d[:n]), env, r) for r, d in ((0, obs), (1, intv))])
            metrics[f"skeleton_ours[n={n}]"] = float(ours)
            metrics[f"skeleton_pc[n={n}]"] = float(pcs)
    return CellResult(metrics=metrics)


def _csl_structure(policy: CSLUCB, env: LinearSEMBandit) -> dict[str, float]:
    graphs = policy.graphs
    if graphs is None:
        return {"structure_samples": math.nan}
    m = structure_metrics((graphs[0].adjacency, graphs[1].adjacency), env)
    return {"structure_samples": float(policy.structure_rounds().size), **{f"structure_{k}": v for k, v in m.items()}}


def run_cell(cell: Cell) -> CellResult:
    """One method on one seed's system (stationary or with a change), or the full-graph structure curve."""
    n_tune = int(cell.settings.get("tuning_seeds", 5))
    if cell.task == "structure":
        return _structure_cell(cell.seed, tuple(cell.settings.get("pc_grid", PC_GRID)))
    change = cell.task == "change"
    tuning = tuned(cell.method, cell.task, n_tune)
    if cell.method.startswith("csl-ucb") or cell.method in ("linsem-ts-oracle", "random-actions"):
        setting: dict[str, Any] = dict(PAPER)  # the verdict runs CSL-UCB at the paper's settings
    else:
        setting = dict(PAPER) | (tuning.chosen if tuning else {})
    policy = make_policy(cell.method, cell.seed, change, setting)
    out = episode(policy, cell.seed, change)
    regret_curve = np.cumsum(out["inst_regret"])
    sw = out["switch"]
    metrics: dict[str, float] = {
        "regret": float(regret_curve[-1]),
        "mean_reward": float(out["reward"].mean()),
        "optimal_last200": float(out["optimal"][-LAST:].sum()),
        "optimal_rate_last200": float(out["optimal"][-LAST:].mean()),
    }
    if change:
        metrics["post_change_regret"] = float(out["inst_regret"][sw:].sum())
        metrics["pre_change_regret"] = float(out["inst_regret"][:sw].sum())
    if isinstance(policy, CSLUCB):
        metrics["n_detections"] = float(len(policy.changes))
        after = [t for t, _, _ in policy.changes if t >= sw]
        metrics["detection_delay"] = float(after[0] - sw) if (change and after) else math.nan
        metrics["false_alarms"] = float(sum(t < sw for t, _, _ in policy.changes))
        if not change:
            before, _ = systems(cell.seed, False)
            metrics.update(_csl_structure(policy, before))
    for key in setting:
        if tuning and key in tuning.chosen:
            metrics[f"tuned_{key}"] = float(tuning.chosen[key])
    if tuning is not None:
        for s, score in tuning.scores:
            label = ",".join(f"{k}={v}" for k, v in s.items())
            metrics[f"tuning_score[{label}]"] = score
        if cell.method == "csl-ucb":  # sensitivity: CSL-UCB at its tuned coefficient scale
            chosen = float(tuning.chosen["coef_scale"])
            if chosen == PAPER["coef_scale"]:
                metrics["regret_tuned"] = metrics["regret"]
                metrics["optimal_last200_tuned"] = metrics["optimal_last200"]
            else:
                alt = episode(make_policy("csl-ucb", cell.seed, change, {"coef_scale": chosen}), cell.seed, change)
                metrics["regret_tuned"] = float(alt["inst_regret"].sum())
                metrics["optimal_last200_tuned"] = float(alt["optimal"][-LAST:].sum())
        else:  # sensitivity: the baseline at the paper's constant
            if tuning.chosen == {k: PAPER[k] for k in tuning.chosen}:
                metrics["regret_paper_constant"] = metrics["regret"]
            else:
                metrics["regret_paper_constant"] = _regret(cell.method, cell.seed, change, PAPER)
    return CellResult(metrics=metrics, curves={"regret": regret_curve.tolist()})


# ---------------------------------------------------------------------------------------------- verdict
def sample_reductions(results: Results, match: str = "accuracy", method: str = "csl-ucb") -> dict[str, np.ndarray]:
    """Per seed: CSL-UCB's structure samples, the full-graph samples at matched ``match``, the reduction.

    ``S_full = 2 min{n in FULL_GRID : full-graph ``match`` ≥ CSL-UCB's}``; when no grid point reaches it,
    ``S_full`` is censored at the grid's top (``2 · 400``), which understates the reduction.
    """
    csl = {r.seed: r.metrics for r in results.done if r.task == "stationary" and r.method == method}
    full = {r.seed: r.metrics for r in results.done if r.task == "structure"}
    seeds = sorted(set(csl) & set(full))
    s_sub, s_full, censored = [], [], []
    for s in seeds:
        target = float(csl[s].get(f"structure_{match}", math.nan))
        sub = float(csl[s].get("structure_samples", math.nan))
        reached = [n for n in FULL_GRID if full[s].get(f"full_{match}[n={n}]", -1.0) >= target - 1e-12]
        s_sub.append(sub)
        s_full.append(2.0 * (reached[0] if reached else FULL_GRID[-1]))
        censored.append(not reached)
    a, b = np.array(s_sub, dtype=float), np.array(s_full, dtype=float)
    return {"seeds": np.array(seeds), "sub": a, "full": b, "reduction": 1.0 - a / b if a.size else a,
            "censored": np.array(censored, dtype=bool)}


def verdict(results: Results, method: str = "csl-ucb") -> Verdict:
    """The abstract's three lines and the three set checks (see the module docstring)."""
    ev: list[Evidence] = []
    red = sample_reductions(results, "accuracy", method)
    ev.append(paired_gain(f"67% fewer structure samples than full-graph learning at matched accuracy "
                          f"(reduction 1 - S_sub/S_full minus {SAMPLE_CLAIM}; tolerance {SAMPLE_TOL})",
                          red["reduction"], np.full(red["reduction"].size, SAMPLE_CLAIM), margin=-SAMPLE_TOL))
    for base in ("vanilla-ucb", "fullgraph-etc"):
        ours, other = results.paired("mean_reward", ("stationary", method), ("stationary", base))
        ev.append(paired_gain(f"average reward gain over {base} (mean expected reward per round)", ours, other))
    ours, ucb = results.paired("mean_reward", ("stationary", method), ("stationary", "vanilla-ucb"))
    scale = float(np.mean(np.abs(ucb))) if ucb.size else math.nan
    ev.append(paired_gain("reward gain over vanilla-ucb >= 85% (gain / vanilla-ucb's mean reward)",
                          ours / scale, ucb / scale, margin=GAIN_CLAIM))
    ours, ucb = results.paired("regret", ("stationary", method), ("stationary", "vanilla-ucb"))
    scale = float(ucb.mean()) if ucb.size else math.nan
    ev.append(paired_gain("regret <= 0.5x vanilla-ucb's (reduction as a fraction of UCB's mean regret)",
                          ours / scale, ucb / scale, margin=REGRET_MARGIN, higher_is_better=False))
    rates = results.metric("optimal_rate_last200", "stationary", method)
    rates = rates[np.isfinite(rates)]
    ev.append(paired_gain("optimal action in >= 80% of the last 200 rounds (mean per-system rate minus 0.8, "
                          "systems as the unit)", rates, np.full(rates.size, OPTIMAL_RATE)))
    det, nodet = results.paired("post_change_regret", ("change", method), ("change", "csl-ucb-no-detect"))
    scale = float(nodet.mean()) if nodet.size else math.nan
    ev.append(paired_gain("post-change regret with detection <= 0.7x without (reduction, fraction of without)",
                          det / scale, nodet / scale, margin=CHANGE_MARGIN, higher_is_better=False))
    return Verdict.from_evidence(ev)


# ---------------------------------------------------------------------------------------------- report
def plots(results: Results, outdir: Path) -> list[Path]:
    """Regret curves (stationary, change) and structure accuracy against samples."""
    from guardopt.reproduce.plotting import panel_row, save_figure

    colors = {m: f"C{i}" for i, m in enumerate(METHODS)}  # one colour per method in every panel
    fig, axes = panel_row(2, figsize=(11.0, 4.2))
    for ax, task in zip(axes, ("stationary", "change")):
        for m in GRID[task]:
            curves = results.curves("regret", task, m)
            if not curves.size:
                continue
            mu, se = mean_se(curves)
            x = np.arange(1, mu.size + 1)
            ax.plot(x, mu, color=colors[m], label=f"{m} (n={curves.shape[0]})")
            ax.fill_between(x, mu - se, mu + se, color=colors[m], alpha=0.2)
        if task == "change":
            ax.axvline(HORIZON // 2, color="grey", ls=":", lw=1, label="change")
        ax.set_title(f"{task}, N = {N_NODES}, T = {HORIZON} (mean ± SE over systems)")
        ax.set_xlabel("round")
        ax.set_ylabel("cumulative pseudo-regret")
        ax.legend(fontsize=7)
    out = [save_figure(fig, Path(outdir) / "causal_bandits_regret.png", dpi=120)]
    fig, axes = panel_row(1, figsize=(6.0, 4.2))
    ax = axes[0]
    full = [r for r in results.done if r.task == "structure"]
    if full:
        acc = np.array([[r.metrics.get(f"full_accuracy[n={n}]", np.nan) for n in FULL_GRID] for r in full])
        mu, se = mean_se(acc)
        xs = 2 * np.array(FULL_GRID)
        ax.errorbar(xs, mu, yerr=se, marker="o", capsize=3, label="full-graph learner (equal variance)")
        pc_x = [n for n in PC_GRID if any(f"skeleton_pc[n={n}]" in r.metrics for r in full)]
        if pc_x:
            pcs = np.array([[r.metrics.get(f"skeleton_pc[n={n}]", np.nan) for n in pc_x] for r in full])
            ours = np.array([[r.metrics.get(f"skeleton_ours[n={n}]", np.nan) for n in pc_x] for r in full])
            ax.plot(2 * np.array(pc_x), mean_se(ours)[0], "s--", label="full-graph learner, skeleton")
            ax.plot(2 * np.array(pc_x), mean_se(pcs)[0], "^--", label="causal-learn PC, skeleton")
    sub = results.metric("structure_samples", "stationary", "csl-ucb")
    acc_sub = results.metric("structure_accuracy", "stationary", "csl-ucb")
    if sub.size:
        ax.errorbar([np.nanmean(sub)], [np.nanmean(acc_sub)], xerr=[mean_se(sub)[1]], yerr=[mean_se(acc_sub)[1]],
                    marker="*", ms=12, color="k", ls="none", label="CSL-UCB sub-graphs")
    ax.set_xscale("log")
    ticks = [20, 50, 100, 200, 400, 800]
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("rounds of data used for structure learning")
    ax.set_ylabel("structure accuracy (1 - SHD / 2N(N-1))")
    ax.legend(fontsize=7)
    out.append(save_figure(fig, Path(outdir) / "causal_bandits_structure.png", dpi=120))
    return out


def _first(results: Results, task: str, method: str) -> dict[str, float]:
    rows = [r for r in results.done if r.task == task and r.method == method]
    return dict(rows[0].metrics) if rows else {}


def _fmt(values: np.ndarray, digits: int = 1) -> str:
    m, se, n = mean_se_n(values)
    return f"{m:.{digits}f} ± {se:.{digits}f}" if n else "–"


def extra_markdown(results: Results) -> str:
    """Tables beside the paper's baselines, structure samples, the PC cross-check, tuning and sensitivity."""
    lines = ["### Bandit results (mean ± SE over systems)", "",
             "| task | method | cumulative regret | post-change regret | mean expected reward | optimal in last 200 |"
             " detections (false alarms) |", "|---|---|---|---|---|---|---|"]
    for task in ("stationary", "change"):
        for m in GRID[task]:
            lines.append(f"| {task} | {m} | {_fmt(results.metric('regret', task, m))} | "
                         f"{_fmt(results.metric('post_change_regret', task, m)) if task == 'change' else '–'} | "
                         f"{_fmt(results.metric('mean_reward', task, m), 3)} | "
                         f"{_fmt(results.metric('optimal_rate_last200', task, m), 3)} | "
                         + (f"{_fmt(results.metric('n_detections', task, m))} "
                            f"({_fmt(results.metric('false_alarms', task, m))})" if m.startswith("csl") else "–")
                         + " |")
    gains = []
    for base in ("vanilla-ucb", "fullgraph-etc"):
        ours, other = results.paired("mean_reward", ("stationary", "csl-ucb"), ("stationary", base))
        if ours.size:
            gains.append(f"{base}: {(ours.mean() - other.mean()) / abs(other.mean()):+.1%}")
    lines += ["", "**Average reward gain of CSL-UCB** (difference of mean expected rewards per round, as a fraction "
              f"of the baseline's; the paper reports 85%): {'; '.join(gains) if gains else '–'}.", ""]
    lines += ["### Structure-learning samples", ""]
    for match in ("accuracy", "recall"):
        red = sample_reductions(results, match)
        if red["sub"].size:
            label = "verdict" if match == "accuracy" else "sensitivity (not the verdict)"
            lines.append(f"- matched on **{match}** ({label}): CSL-UCB's sub-graphs used {_fmt(red['sub'])} rounds; "
                         f"the full-graph learner needed {_fmt(red['full'])} rounds to match; reduction "
                         f"{_fmt(red['reduction'], 3)} (paper: 0.67); {int(red['censored'].sum())} of "
                         f"{red['sub'].size} systems censored at {2 * FULL_GRID[-1]} rounds.")
    acc = results.metric("structure_accuracy", "stationary", "csl-ucb")
    rec = results.metric("structure_recall", "stationary", "csl-ucb")
    prec = results.metric("structure_precision", "stationary", "csl-ucb")
    lines += [f"- CSL-UCB's final sub-graphs: accuracy {_fmt(acc, 3)}, recall {_fmt(rec, 3)}, precision "
              f"{_fmt(prec, 3)} (asymmetric error control keeps false positives rather than lose true edges).", "",
              "| rounds (n per regime ×2) | full-graph accuracy | recall | precision | skeleton accuracy, ours | "
              "skeleton accuracy, causal-learn PC |", "|---|---|---|---|---|---|"]
    full = [r for r in results.done if r.task == "structure"]
    for n in FULL_GRID:
        def col(key: str) -> str:
            return _fmt(np.array([r.metrics.get(key, np.nan) for r in full], dtype=float), 3)
        lines.append(f"| {2 * n} | {col(f'full_accuracy[n={n}]')} | {col(f'full_recall[n={n}]')} | "
                     f"{col(f'full_precision[n={n}]')} | {col(f'skeleton_ours[n={n}]')} | "
                     f"{col(f'skeleton_pc[n={n}]')} |")
    lines += ["", "### Tuning (same four-point budget, tuning seeds ≥ 1,000,000, score = mean regret, lower is better)",
              ""]
    for task, m, grid in (("stationary", "vanilla-ucb", UCB_COEF_GRID), ("change", "vanilla-ucb", UCB_WINDOW_GRID),
                          ("stationary", "fullgraph-etc", ETC_GRID), ("stationary", "csl-ucb", CSL_GRID)):
        met = _first(results, task, m)
        (name, values), = grid.items()
        scores = [met.get(f"tuning_score[{name}={v}]", math.nan) for v in values]
        chosen = met.get(f"tuned_{name}", math.nan) if m != "csl-ucb" else met.get("tuned_coef_scale", math.nan)
        lines.append(f"- {task} / {m}, `{name}` ∈ {list(values)}: scores "
                     + ", ".join(f"{s:.1f}" for s in scores) + f"; chosen {chosen:g}"
                     + (" (sensitivity only; the verdict uses the paper's 0.5)" if m == "csl-ucb" else ""))
    k = results.metric("optimal_last200", "stationary", "csl-ucb")
    k = k[np.isfinite(k)]
    if k.size:
        pooled = rate_above("pooled", int(k.sum()), LAST * int(k.size), OPTIMAL_RATE)
        lines += ["", f"**Optimal-action rate pooled over rounds** (not the verdict: it treats the correlated "
                  f"rounds of one system as independent): {int(k.sum())} of {LAST * int(k.size)} rounds, one-sided "
                  f"95% Clopper–Pearson lower bound {pooled.value:.3f} against 0.8. The verdict line takes systems "
                  "as the unit."]
    lines += ["", "### Sensitivity (not the verdict)", "", "| variant | stationary regret | optimal in last 200 |",
              "|---|---|---|",
              f"| csl-ucb, paper's c_0 scale 0.5 (verdict) | {_fmt(results.metric('regret', 'stationary', 'csl-ucb'))}"
              f" | {_fmt(results.metric('optimal_last200', 'stationary', 'csl-ucb') / LAST, 3)} |",
              f"| csl-ucb, tuned c_0 scale | {_fmt(results.metric('regret_tuned', 'stationary', 'csl-ucb'))} | "
              f"{_fmt(results.metric('optimal_last200_tuned', 'stationary', 'csl-ucb') / LAST, 3)} |"]
    for task, m in (("stationary", "vanilla-ucb"), ("change", "vanilla-ucb"), ("stationary", "fullgraph-etc")):
        lines.append(f"| {m} ({task}) at the paper's constant | "
                     f"{_fmt(results.metric('regret_paper_constant', task, m))} | – |")
    lines += ["", "Negative controls (unit tests, `tests/reproduce/test_reproduce_causal_bandits.py`): a detector that "
              "never fires, run as `csl-ucb`, makes the change line FAIL; uniformly random actions as `csl-ucb` make "
              "the regret and optimal-rate lines FAIL."]
    return "\n".join(lines)


NOTES = """\
**Design.** N = 6 nodes (64 actions), T = 1000 rounds, random systems drawn as in the paper
(`guardopt.problems.linear_sem.LinearSEMBandit.random`: each forward edge with probability 1/2 per
regime, sign ±, magnitude U[0.5, 2]; ν = 1, Σ = I). Every method of a seed sees the same system and
the same exogenous draws (common random numbers). Regret is the pseudo-regret Σ_t (μ* − μ_{a_t});
an action is optimal within 0.01 of μ*, the paper's tolerance. The change experiment redraws, at
T/2, one weight column used by the optimal action until that action stops being optimal
(`LinearSEMBandit.with_change`); CSL-UCB runs with and without its detector, vanilla UCB with a
sliding window.

**Structure samples.** CSL-UCB learns each node's column in each regime from at most n_max = 100 of
the rounds in which that node was in that regime; the rounds that enter some window are the data its
structure was learned from (`structure_samples`, counted on the final windows). The full-graph
learner gets n purely observational and n purely interventional rounds for n in a grid up to 400 and
learns each regime's whole graph (`equal_variance_dag`: equal-variance top-down ordering, least
squares, weights below 0.3 cut — the identifiability assumption and cut of GOLEM, which the paper's
full-graph baseline uses and which needs TensorFlow). The PC algorithm of causal-learn (Fisher-z,
α = 0.05) runs on the same pure-regime samples as the third-party reference for structure accuracy
(skeletons: PC does not orient every edge).

**Deviations.** (1) GOLEM-MAB is replaced by an explore-then-commit baseline on the equal-variance
learner above (no TensorFlow); its exploration length is tuned (the paper's 300 per regime is in the
grid). (2) The paper's systems have N = 10 and T = 1500 over 100 systems; here N = 6, T = 1000 and
20 systems (the full scale). (3) CSL-UCB's c_0 uses |max μ̂| (see `guardopt.bandits.causal.csl_ucb`).
(4) "Average reward gain" is read as the difference of mean expected rewards per round over the
horizon, as a fraction of the baseline's; the paper does not define the 85% in its abstract.
(5) The optimal-rate line takes systems as the unit (a t bound on the mean per-system rate); pooling
the rounds of all systems under Clopper–Pearson would treat correlated rounds as independent and
give a narrower interval than the data support, so it is shown only beside the verdict.
(6) Of the LinSEM references only Thompson sampling (LinSEM-TS, the one in the authors' code) is run;
LinSEM-UCB is not. (7) The KSG estimator standardizes each margin first (the authors' code does not;
without it the score depends on the units of each node). (8) The algorithm and its defaults follow the
authors' code and the abstract; where two versions of that code differ (c_0 = 0.2·max μ̂/max U with
(1 + cos) vs 0.5·max μ̂/max U with (1 + cos)/2) we run the latter.

**Reading the verdict.** Regret ratios are heavy-tailed: summed over systems CSL-UCB's regret is well
below half of vanilla UCB's, but that sum is carried by the few systems on which UCB does badly; the
per-system ratios spread widely (on some systems CSL-UCB is worse), so the paired interval is wide and
its lower bound does not clear 0.5 — the table of means and the interval are both in this report. On
the systems where CSL-UCB never finds the optimum it has committed, after the warm-up, to an action
its learned model ranks first. The full-graph baseline's learner uses the same equal-variance
identifiability that makes orientation possible at all in this model, which is why it matches
CSL-UCB's structure accuracy with about as many samples.
"""

REPRODUCTION = Reproduction(
    name="causal-bandits",
    paper=Paper("Asymmetric Graph Error Control with Low Complexity in Causal Bandits", 2024,
                "https://arxiv.org/abs/2408.11240"),
    claim=("Compared to existing approaches, the proposed scheme (CSL-UCB) takes 67% fewer samples to learn the "
           "causal structure and achieves an average reward gain of 85%; here also: regret <= 0.5x vanilla UCB's, "
           "an optimal action in >= 80% of the last 200 rounds, and change detection cutting post-change regret "
           "to <= 0.7x."),
    tasks=TASKS,
    methods=METHODS,
    metrics=("regret", "post_change_regret", "mean_reward", "optimal_rate_last200", "structure_samples",
             "structure_accuracy"),
    scales={"quick": Scale(seeds=2, settings={"tuning_seeds": 1, "pc_grid": [100]}),
            "full": Scale(seeds=20, settings={"tuning_seeds": 5, "pc_grid": list(PC_GRID)})},
    run_cell=run_cell,
    verdict=verdict,
    plots=plots,
    extra_markdown=extra_markdown,
    grid=lambda scale: [(t, m) for t in TASKS for m in GRID[t]],
    notes=NOTES,
)

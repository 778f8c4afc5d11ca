"""Diagnosis: why does `GPOptimizer("ei")` settle in Hartmann6's second basin?

Runs guardopt-only variants on the same seeds and budget and records, per run: the final log10
regret, which basin the best point lies in (nearest of Hartmann6's two deepest minima), the fitted
lengthscales at the end, and how often the acquisition optimizer *missed*: the step's chosen point
scored a lower log EI than the known global minimizer under the same model (then a better
acquisition maximizer would have gone there; if the model itself rates the global basin low, no
optimizer setting can help).

Writes ``benchmarks/results/bo-basins.{json,md}``. Example::

    python benchmarks/bo_basins.py --seeds 10 --budget 50 --variants baseline,optimizer,prior-dim,design-20
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

RESULTS = Path(__file__).resolve().parent / "results"
if str(Path(__file__).resolve().parent) not in sys.path:  # the shared statistics, when imported by path
    sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare_runs import median_difference_interval  # noqa: E402

# Hartmann6's global minimizer (f = -3.32237) and the second-deepest local minimizer (f = -3.2032).
X_GLOBAL = np.array([0.20169, 0.150011, 0.476874, 0.275332, 0.311652, 0.6573])
X_SECOND = np.array([0.40465, 0.88244, 0.84610, 0.57399, 0.13893, 0.03850])

VARIANTS: dict[str, dict[str, Any]] = {
    "baseline": {},
    # acquisition maximizer: 4x candidates, 4x restarts, diverse roulette starts
    "optimizer": {"n_candidates": 8192, "n_restarts": 20, "n_roulette": 10},
    # lengthscale prior: Hvarfner et al. (2024), LogNormal(sqrt2 + log(d)/2, sqrt3), as BoTorch's default
    "prior-dim": {"lengthscale_prior": "dim-scaled"},
    "prior-dim+optimizer": {"lengthscale_prior": "dim-scaled", "n_candidates": 8192, "n_restarts": 20,
                            "n_roulette": 10},
    # lengthscale prior: -(0.1 / lam + 0.1 lam) on lam = 1 / l^2 (Optuna GPSampler's)
    "prior-invsq": {"prior": {"ls_kind": "inv_sq", "ls_weight": 0.1}},
    # lengthscales capped at 2 unit-cube widths
    "ls-cap-2": {"ls_cap": 2.0},
    # output transform: Yeo-Johnson (HEBO) instead of plain standardization
    "yeo-johnson": {"output_transform": "yeo-johnson"},
    # no local candidates around the best points (global Sobol candidates only)
    "no-local": {"n_local": 0},
    # other acquisitions, for comparison
    "ucb": {"acquisition": "ucb"},
    # Optuna's GPSampler: from its own 10 random points, and from GPOptimizer's Sobol design
    "optuna-gp": {},
    "optuna-gp-sobol-design": {},
    # initial design: 10 uniform random points instead of Sobol (as Optuna's GPSampler starts)
    "design-random": {"design": "random"},
    # initial design: the very 10 random points Optuna's GPSampler(seed) starts from (a swap test:
    # same start, so what differs from optuna-gp afterwards is the model and the acquisition)
    "design-optuna": {"design": "optuna"},
    # initial design: 20 Sobol points (~3d) instead of 10
    "design-20": {"n_initial": 20},
    # noise floor: fit noise from 1e-6 instead of 1e-8 (more jitter)
    "jitter-1e-6": {"min_noise": 1e-6},
    # lengthscales capped at 1 and at 0.5 unit-cube widths (below the won runs' 0.53-0.89 on x2, x4)
    "ls-cap-1": {"ls_cap": 1.0},
    "ls-cap-0.5": {"ls_cap": 0.5},
    # a restart away from a refined basin: once the last 5 evaluations all lie within half a (fitted,
    # ARD-scaled) lengthscale of the incumbent and improved it by less than 1e-3 of the observed range,
    # the acquisition is barred from within one scaled lengthscale of that incumbent for the rest of
    # the run (a tabu region), so EI has to look elsewhere
    "exclude-refined": {"exclude_refined": True},
    # two trust regions in turn (after TuRBO's several regions): odd steps maximize EI inside a box of
    # side 0.8 around the incumbent, even steps inside one around the best point farther than 0.5
    # from it, so a second basin is kept alive alongside the first
    "two-regions": {"two_regions": True},
}

# exclude-refined: the stall rule's window, "near" radius, tabu radius (scaled lengthscales) and
# improvement tolerance (fraction of the observed range of the standardized losses)
STALL_WINDOW, STALL_NEAR, TABU_RADIUS, STALL_TOL = 5, 0.5, 1.0, 1e-3
# two-regions: the boxes' side and the distance (unit cube, Euclidean) that makes a point "far"
REGION_SIDE, REGION_FAR = 0.8, 0.5


def run_gpsampler(variant: str, seed: int, budget: int) -> dict[str, Any]:
    """Optuna's GPSampler from its own random start (``optuna-gp``) or from guardopt's Sobol design."""
    import optuna

    from guardopt.problems.synthetic import HARTMANN6 as fn

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
    if variant == "optuna-gp-sobol-design":
        for p in fn.space().sobol(10, seed=seed % (2**32)):  # the design GPOptimizer starts from
            study.enqueue_trial(p)
    t0 = time.perf_counter()
    study.optimize(lambda t: float(fn(np.array([t.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6)]))),
                   n_trials=budget)
    wall = time.perf_counter() - t0
    xs = np.array([[t.params[f"x{i}"] for i in range(6)] for t in study.trials])
    vals = fn(xs)
    basin = nearest_basin(xs)
    return {"variant": variant, "seed": seed, "budget": budget, "regret": max(float(vals.min()) - fn.optimal_value, 0),
            "basin": basin, "design_basin": nearest_basin(xs[:10]), "lengthscales": None, "noise": None, "misses": 0,
            "steps": 0, "max_gap": None, "seconds_per_suggestion": wall / budget}


def nearest_basin(xs: np.ndarray) -> str:
    """Which of the two deepest minimizers the best of the points ``xs`` lies nearer to."""
    from guardopt.problems.synthetic import HARTMANN6 as fn

    xs = np.asarray(xs, dtype=float)
    xb = xs[int(np.argmin(fn(xs)))]
    return "global" if np.linalg.norm(xb - X_GLOBAL) < np.linalg.norm(xb - X_SECOND) else "second"


def initial_design(variant: str, seed: int) -> np.ndarray:
    """The initial design a stored run of ``variant`` started from (the designs do not depend on the
    objective's values, so they can be regenerated for runs stored before the field existed)."""
    from guardopt.problems.synthetic import HARTMANN6 as fn

    if variant in ("optuna-gp", "design-optuna"):
        return np.array([[p[f"x{i}"] for i in range(6)] for p in optuna_start(seed, 10)])
    if variant == "design-random":
        return np.random.default_rng(seed).random((10, 6))
    n = int(VARIANTS.get(variant, {}).get("n_initial", 10))
    return np.array([fn.to_array(p) for p in fn.space().sobol(n, seed=seed % (2**32))])


def optuna_start(seed: int, n: int) -> list[dict[str, float]]:
    """The first ``n`` points of ``GPSampler(seed=seed)`` on Hartmann6 (its random start; they do not
    depend on the objective's values)."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed, n_startup_trials=n))
    study.optimize(lambda t: sum(t.suggest_float(f"x{i}", 0.0, 1.0) for i in range(6)), n_trials=n)
    return [dict(t.params) for t in study.trials]


def run(variant: str, seed: int, budget: int) -> dict[str, Any]:
    if variant.startswith("optuna-gp"):
        return run_gpsampler(variant, seed, budget)
    import guardopt as go
    import guardopt.bo.gp as gp_module
    from guardopt.bo import acquisition as acq
    from guardopt.bo.optimizer import GPOptimizer
    from guardopt.problems.synthetic import HARTMANN6

    fn = HARTMANN6
    options = dict(VARIANTS[variant])
    gp_module.MIN_NOISE = options.pop("min_noise", 1e-8)  # read by fit_hyperparameters at call time
    gp_module.LOG_LS_BOUNDS = (np.log(5e-3), np.log(options.pop("ls_cap", 1e3)))
    prior_kw = options.pop("prior", None)
    design = options.pop("design", "sobol")
    exclude_refined = options.pop("exclude_refined", False)
    two_regions = options.pop("two_regions", False)
    opt = GPOptimizer(options.pop("acquisition", "ei"), seed=seed, **options)
    setup = opt.setup

    def patched_setup(problem):  # type: ignore[no-untyped-def]
        setup(problem)
        if prior_kw is not None:  # another lengthscale prior
            opt._prior = gp_module.GPPrior(**prior_kw)
        if design == "random":  # uniform random initial design (as Optuna's samplers start)
            rng = np.random.default_rng(seed)
            opt._design = [problem.space.decode(u) for u in rng.random((opt._n_initial, problem.space.dim))]
        if design == "optuna":
            opt._design = optuna_start(seed, opt._n_initial)

    opt.setup = patched_setup  # type: ignore[method-assign]
    if exclude_refined:
        tabu: list[np.ndarray] = []
        scorer = opt._scorer

        def tabu_scorer(model, gp, cons, cand, rng):  # type: ignore[no-untyped-def]
            score = scorer(model, gp, cons, cand, rng)
            x, y, ls = model.x, model.y, gp.lengthscales
            if len(y) >= opt._n_initial + STALL_WINDOW:
                ib = int(np.argmin(y))
                near = np.sqrt((((x[-STALL_WINDOW:] - x[ib]) / ls) ** 2).sum(axis=1)) < STALL_NEAR
                gain = float(np.min(y[:-STALL_WINDOW]) - y[ib])
                if near.all() and gain < STALL_TOL * float(np.ptp(y)):
                    tabu.append(x[ib].copy())
            if not tabu:
                return score

            def barred(u):  # type: ignore[no-untyped-def]
                s = score(u)
                for c in tabu:
                    s = np.where(np.sqrt((((np.atleast_2d(u) - c) / ls) ** 2).sum(axis=1)) < TABU_RADIUS, -np.inf, s)
                return s

            return barred

        opt._scorer = tabu_scorer  # type: ignore[method-assign]
    if two_regions:
        box: list[np.ndarray] = []
        region_scorer, region_max = opt._scorer, opt._maximize
        turn = [0]

        def region_maximize(model, gp, cons, excluded, rng):  # type: ignore[no-untyped-def]
            order = np.argsort(model.y)
            c = model.x[order[0]]
            far = [i for i in order if np.linalg.norm(model.x[i] - c) > REGION_FAR]
            turn[0] += 1
            if far and turn[0] % 2 == 0:
                c = model.x[far[0]]
            box[:] = [np.clip(c - REGION_SIDE / 2, 0, 1), np.clip(c + REGION_SIDE / 2, 0, 1)]
            enc, sobol = opt._enc, opt._enc.sobol
            enc.sobol = lambda n, r: box[0] + (box[1] - box[0]) * sobol(n, r)  # candidates inside the box
            try:
                return region_max(model, gp, cons, excluded, rng)
            finally:
                enc.sobol = sobol

        def region_scorer_in_box(model, gp, cons, cand, rng):  # type: ignore[no-untyped-def]
            score = region_scorer(model, gp, cons, cand, rng)

            def inside(u):  # type: ignore[no-untyped-def]
                u2 = np.atleast_2d(u)
                ok = np.all((u2 >= box[0] - 1e-12) & (u2 <= box[1] + 1e-12), axis=1)
                return np.where(ok, score(u), -np.inf)

            return inside

        opt._scorer = region_scorer_in_box  # type: ignore[method-assign]
        opt._maximize = region_maximize  # type: ignore[method-assign]
    misses, steps, gaps = 0, 0, []
    original = opt._maximize

    def watched(model, gp, cons, excluded, rng):  # type: ignore[no-untyped-def]
        nonlocal misses, steps
        u = original(model, gp, cons, excluded, rng)
        best = float(np.min(model.y))
        mu, var = gp.predict(np.vstack([u, X_GLOBAL]))
        s = acq.log_expected_improvement(mu, np.sqrt(var), best)
        steps += 1
        gaps.append(float(s[1] - s[0]))
        misses += bool(s[1] > s[0])
        return u

    opt._maximize = watched  # type: ignore[method-assign]
    study = go.Study(fn.space(), optimizer=opt)
    t0 = time.perf_counter()
    study.optimize(lambda p: float(fn(fn.to_array(p))), n_trials=budget)
    wall = time.perf_counter() - t0
    xs = np.array([fn.to_array(t.params) for t in study.trials])
    vals = fn(xs)
    basin = nearest_basin(xs)
    theta = opt._theta if opt._theta is not None else np.zeros(8)
    return {"variant": variant, "seed": seed, "budget": budget, "regret": max(float(vals.min()) - fn.optimal_value, 0),
            "basin": basin, "design_basin": nearest_basin(xs[:opt._n_initial]),
            "lengthscales": np.exp(theta[:6]).round(3).tolist(), "noise": float(np.exp(theta[7])),
            "misses": misses, "steps": steps, "max_gap": float(max(gaps)) if gaps else 0.0,
            "seconds_per_suggestion": wall / budget}


PER_SEED_LIMIT = 30  # the per-seed tables show seeds 0..29; the summaries use every seed run
# (start, GP) pairs of the design comparison: the same GP from different starts, and different GPs
# from the same start
DESIGNS = [("GPOptimizer's Sobol design", "guardopt", "baseline"),
           ("GPOptimizer's Sobol design", "GPSampler", "optuna-gp-sobol-design"),
           ("uniform random (numpy default_rng(seed))", "guardopt", "design-random"),
           ("GPSampler's own random start (RandomSampler(seed))", "guardopt", "design-optuna"),
           ("GPSampler's own random start (RandomSampler(seed))", "GPSampler", "optuna-gp")]


def _clopper_pearson(k: int, n: int, level: float = 0.95) -> tuple[float, float]:
    from guardopt.uncertainty.bounds import clopper_pearson

    est = clopper_pearson(k, n, delta=1 - level)
    return float(est.lower), float(est.upper)


def design_comparison(records: list[dict[str, Any]]) -> list[str]:
    """Markdown: the global-basin rate by initial design and GP, and paired same-start agreement."""
    by: dict[str, dict[int, dict[str, Any]]] = {}
    for r in records:
        by.setdefault(r["variant"], {})[r["seed"]] = r
    rows = [d for d in DESIGNS if d[2] in by]
    if not rows:
        return []
    out = ["", "## Initial design against model", "",
           "Global-basin rate by initial design and GP over every seed each ran (95% Clopper-Pearson interval), "
           "and median log10 regret:", "",
           "| initial design | GP | seeds | global basin | rate [95% CI] | median log10 regret |",
           "|---|---|---|---|---|---|"]
    for design, gp, v in rows:
        rs = list(by[v].values())
        k, n = sum(r["basin"] == "global" for r in rs), len(rs)
        lo, hi = _clopper_pearson(k, n)
        med = float(np.median(np.log10(np.maximum([r["regret"] for r in rs], 1e-8))))
        out.append(f"| {design} | {gp} | {n} | {k}/{n} | {k / n:.2f} [{lo:.2f}, {hi:.2f}] | {med:.2f} |")
    pairs = [("design-optuna", "optuna-gp", "GPSampler's own random start"),
             ("baseline", "optuna-gp-sobol-design", "GPOptimizer's Sobol design")]
    out += ["", "Same start, two GPs (paired by seed): basins (guardopt, GPSampler) and median log10 regret on "
            "the seeds both ran:", "",
            "| start | seeds | both global | both second | only guardopt global | only GPSampler global | "
            "guardopt median | GPSampler median |", "|---|---|---|---|---|---|---|---|"]
    for a, b, name in pairs:
        if a not in by or b not in by:
            continue
        common = sorted(set(by[a]) & set(by[b]))
        if not common:
            continue
        ga = [by[a][s]["basin"] == "global" for s in common]
        gb = [by[b][s]["basin"] == "global" for s in common]
        both = sum(x and y for x, y in zip(ga, gb, strict=True))
        neither = sum((not x) and (not y) for x, y in zip(ga, gb, strict=True))
        only_a = sum(x and not y for x, y in zip(ga, gb, strict=True))
        only_b = sum(y and not x for x, y in zip(ga, gb, strict=True))
        ma = float(np.median([np.log10(max(by[a][s]["regret"], 1e-8)) for s in common]))
        mb = float(np.median([np.log10(max(by[b][s]["regret"], 1e-8)) for s in common]))
        out.append(f"| {name} | {len(common)} | {both} | {neither} | {only_a} | {only_b} | {ma:.2f} | {mb:.2f} |")
    return out


def design_decides(records: list[dict[str, Any]]) -> list[str]:
    """Markdown: how often a run ends in the basin that its initial design's best point lies nearer to."""
    variants = list(dict.fromkeys(r["variant"] for r in records if r.get("design_basin")))
    if not variants:
        return []
    out = ["", "## The initial design picks the basin", "",
           "Per variant: runs whose best initial-design point lies nearer the global minimizer than the second; "
           "runs that end in the basin their design's best point lies nearer to; runs that moved from the second "
           "basin's side to the global basin, and the other way (the design of runs stored before this column "
           "existed is regenerated from the seed: designs do not depend on the objective's values):", "",
           "| variant | seeds | design nearer global | ended in the design's basin | second -> global | "
           "global -> second |", "|---|---|---|---|---|---|"]
    for v in variants:
        rs = [r for r in records if r["variant"] == v and r.get("design_basin")]
        n = len(rs)
        dg = sum(r["design_basin"] == "global" for r in rs)
        same = sum(r["design_basin"] == r["basin"] for r in rs)
        up = sum(r["design_basin"] == "second" and r["basin"] == "global" for r in rs)
        down = sum(r["design_basin"] == "global" and r["basin"] == "second" for r in rs)
        out.append(f"| {v} | {n} | {dg}/{n} | {same}/{n} | {up} | {down} |")
    first = [r for r in records if r["seed"] < 10 and r.get("design_basin")
             and r["variant"] in ("baseline", "optuna-gp")]
    if first:
        out += ["", "On the benchmark's seeds 0-9: the design's best point lies nearer the global minimizer on "
                + ", ".join(f"{sum(r['design_basin'] == 'global' for r in first if r['variant'] == v)}/"
                            f"{sum(r['variant'] == v for r in first)} seeds for {name}"
                            for v, name in (("baseline", "GPOptimizer's Sobol design"),
                                            ("optuna-gp", "GPSampler's random start"))) + "."]
    return out


def seed_blocks(records: list[dict[str, Any]], a: str = "baseline", b: str = "optuna-gp") -> list[str]:
    """Markdown: the two tools' median log10 regret on each block of 10 consecutive seeds both ran
    (is the benchmark's block 0-9 typical?)."""
    by = {v: {r["seed"]: r for r in records if r["variant"] == v} for v in (a, b)}
    common = set(by[a]) & set(by[b])
    blocks = sorted({s // 10 for s in common if all(10 * (s // 10) + i in common for i in range(10))})
    if not blocks:
        return []
    out = ["", f"Median log10 regret per block of 10 seeds, {a} (GPOptimizer's Sobol design) against {b} (GPSampler "
           "from its own random start), and each one's global-basin count:", "",
           "| seeds | guardopt median | GPSampler median | guardopt global | GPSampler global | lower median |",
           "|---|---|---|---|---|---|"]
    lower = {a: 0, b: 0}
    for k in blocks:
        seeds = range(10 * k, 10 * k + 10)
        med = {v: float(np.median([np.log10(max(by[v][s]["regret"], 1e-8)) for s in seeds])) for v in (a, b)}
        glob = {v: sum(by[v][s]["basin"] == "global" for s in seeds) for v in (a, b)}
        win = a if med[a] <= med[b] else b
        lower[win] += 1
        out.append(f"| {10 * k}-{10 * k + 9} | {med[a]:.2f} | {med[b]:.2f} | {glob[a]}/10 | {glob[b]}/10 | "
                   f"{'guardopt' if win == a else 'GPSampler'} |")
    out += ["", f"guardopt's median is at or below GPSampler's on {lower[a]} of {len(blocks)} blocks."]
    return out


def how_sure(records: list[dict[str, Any]], a: str = "baseline", b: str = "optuna-gp") -> list[str]:
    """Markdown: ``a``'s median log10 regret minus ``b``'s, with a bootstrap interval and a rank test,
    on the benchmark's seeds 0-9, on the seeds after them, and on all the seeds both ran."""
    from scipy.stats import mannwhitneyu

    by = {v: {r["seed"]: np.log10(max(r["regret"], 1e-8)) for r in records if r["variant"] == v} for v in (a, b)}
    common = sorted(set(by[a]) & set(by[b]))
    rows = []
    for label, seeds in (("0-9 (the benchmark's)", [s for s in common if s < 10]),
                         ("after 9", [s for s in common if s >= 10]), ("all", common)):
        if len(seeds) < 2:
            continue
        xa, xb = [by[a][s] for s in seeds], [by[b][s] for s in seeds]
        diff, lo, hi = median_difference_interval(xa, xb)
        pval = float(mannwhitneyu(xa, xb, alternative="two-sided").pvalue)
        rows.append(f"| {label} | {len(seeds)} | {diff:+.2f} | [{lo:+.2f}, {hi:+.2f}] | {pval:.2g} |")
    if not rows:
        return []
    return ["", f"How sure: {a} (GPOptimizer) minus {b} (GPSampler), median log10 regret (negative: GPOptimizer "
            "lower), with a 95% percentile-bootstrap interval (20000 resamples of each tool's runs) and the "
            "two-sided Mann-Whitney U p-value:", "",
            "| seeds | n | median difference | 95% interval | Mann-Whitney p |", "|---|---|---|---|---|", *rows]


def summarize(records: list[dict[str, Any]], commands: list[str]) -> str:
    """Markdown: one row per variant (over the seeds it ran), then basins seed by seed."""
    variants = list(dict.fromkeys(r["variant"] for r in records))
    seeds = sorted({r["seed"] for r in records})
    lines = ["# Hartmann6 basins: diagnosis of GPOptimizer('ei')", "", "Made by:", "",
             *[f"- `{c}`" for c in commands], "",
             "Columns: seeds run; median and quartiles of log10 regret; runs whose best point lies in the global "
             "basin (nearest of the two deepest minimizers); acquisition misses = steps where the chosen point's "
             "log EI was below the log EI of the known global minimizer under the same model (summed over seeds "
             "/ all steps; exclude-refined and two-regions bar the acquisition from part of the space, so for them "
             "this counts the bar too); largest such gap over a run's steps (median over runs; negative: the model "
             "never preferred the global minimizer); median final lengthscale (unit cube, geometric mean over the 6 "
             "dims); median seconds per suggestion (under the machine's load at the time).", "",
             "| variant | seeds | log10 regret median | q25 | q75 | global basin | acq. misses / steps | "
             "max log EI gap | median ls | s/suggestion |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for v in variants:
        rows = [r for r in records if r["variant"] == v]
        lr = np.log10(np.maximum([r["regret"] for r in rows], 1e-8))
        q25, med, q75 = np.percentile(lr, [25, 50, 75])
        g = sum(r["basin"] == "global" for r in rows)
        miss, steps = sum(r["misses"] for r in rows), sum(r["steps"] for r in rows)
        gaps = [r["max_gap"] for r in rows if r["max_gap"] is not None]
        gap = f"{np.median(gaps):.2f}" if gaps else "n/a"
        lss = [np.exp(np.mean(np.log(r["lengthscales"]))) for r in rows if r["lengthscales"] is not None]
        ls = f"{np.median(lss):.3f}" if lss else "n/a"
        secs = [r["seconds_per_suggestion"] for r in rows if r["seconds_per_suggestion"] is not None]
        sec = f"{np.median(secs):.3f}" if secs else "n/a"
        ss = sorted(r["seed"] for r in rows)
        span = f"{ss[0]}-{ss[-1]}" if ss == list(range(ss[0], ss[-1] + 1)) else ",".join(map(str, ss))
        lines.append(f"| {v} | {span} | {med:.2f} | {q25:.2f} | {q75:.2f} | {g}/{len(rows)} | {miss}/{steps} | "
                     f"{gap} | {ls} | {sec} |")
    lines += design_comparison(records)
    lines += design_decides(records)
    lines += seed_blocks(records)
    lines += how_sure(records)
    seeds = [s for s in seeds if s < PER_SEED_LIMIT]
    lines += ["", f"Per seed (seeds below {PER_SEED_LIMIT}): g = global basin, s = second basin, then log10 regret; "
              "- = not run.", "",
              "| variant | " + " | ".join(str(s) for s in seeds) + " |", "|---|" + "---|" * len(seeds)]
    for v in variants:
        by_seed = {r["seed"]: r for r in records if r["variant"] == v}
        cells = [f"{by_seed[s]['basin'][0]} {np.log10(max(by_seed[s]['regret'], 1e-8)):.1f}" if s in by_seed else "-"
                 for s in seeds]
        lines.append(f"| {v} | " + " | ".join(cells) + " |")
    lines += ["", "Final lengthscales of each run (x0..x5), to see which dimensions the fit declared irrelevant:", "",
              "| variant | seed | basin | lengthscales |", "|---|---|---|---|"]
    for r in records:
        if r["variant"] == "baseline" and r["seed"] < PER_SEED_LIMIT:
            lines.append(f"| {r['variant']} | {r['seed']} | {r['basin']} | {r['lengthscales']} |")
    return "\n".join(lines) + "\n"


def parse_seeds(text: str) -> list[int]:
    """``"0,2,5"`` or ranges ``"30-129"`` (inclusive), comma-separated."""
    seeds: list[int] = []
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        seeds += list(range(int(lo), int(hi) + 1)) if hi else [int(lo)]
    return seeds


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--seeds", type=int, default=10)
    p.add_argument("--budget", type=int, default=50)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--seed-list", default="", help="only these seeds, e.g. 0,2,5 or 30-129")
    p.add_argument("--out", default=str(RESULTS / "bo-basins"))
    p.add_argument("--append", action="store_true", help="add these runs to the stored ones (same variant and "
                   "seed: replaced)")
    p.add_argument("--backfill-design", action="store_true", help="run nothing; add the initial design's basin "
                   "to stored runs that lack it (regenerated from variant and seed) and rewrite the summary")
    args = p.parse_args(argv)
    variants = [v for v in args.variants.split(",") if v]
    command = "python benchmarks/bo_basins.py " + " ".join(argv if argv is not None else sys.argv[1:])
    out = Path(args.out)
    stored: dict[str, Any] = {"commands": [], "records": []}
    if args.append and out.with_suffix(".json").exists():
        stored = json.loads(out.with_suffix(".json").read_text())
    seeds = parse_seeds(args.seed_list) if args.seed_list else list(range(args.seeds))
    if args.backfill_design:
        for r in stored["records"]:
            if not r.get("design_basin"):
                r["design_basin"] = nearest_basin(initial_design(r["variant"], r["seed"]))
        variants = []
    new = []
    for v in variants:
        for s in seeds:
            new.append(run(v, s, args.budget))
            print(new[-1], flush=True)
    keys = {(r["variant"], r["seed"]) for r in new}
    records = [r for r in stored["records"] if (r["variant"], r["seed"]) not in keys] + new
    commands = [*stored["commands"], f"{command}  ({platform.machine()} {os.cpu_count()} CPUs, "
                f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())})"]
    out.with_suffix(".json").write_text(json.dumps({"commands": commands, "records": records}, indent=1))
    out.with_suffix(".md").write_text(summarize(records, commands))
    print(out.with_suffix(".md").read_text())

if __name__ == "__main__":
    main()

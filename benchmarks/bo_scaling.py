"""Benchmark: seconds per suggestion as the study grows (n) and as the space widens (d).

Every tool gets the same ``n`` evaluated points (uniform random in the unit cube, values of a fixed
smooth test function) and is then timed over ``--reps`` consecutive suggestions, each followed by a
tell; the median is reported (one untimed suggestion first absorbs imports and warm-up).

Times are CPU seconds of the cell's process (`time.process_time`), not wall-clock seconds: every
cell runs on one thread, so on an idle machine the two agree, and on a shared machine the CPU time is
not inflated by other processes' load, which keeps the ratios between tools honest. Tools:

* ``guardopt`` — `GPOptimizer` as shipped (hyperparameters fitted on at most 256 points, the
  posterior on all of them; see `guardopt.bo.subset`);
* ``guardopt-exact`` — the same with ``fit_subset=None`` (every point in every likelihood evaluation);
* ``optuna-gp`` — Optuna's ``GPSampler`` (its defaults);
* ``botorch`` — BoTorch's ``SingleTaskGP`` (default priors, Normalize/Standardize transforms), fitted by
  ``fit_gpytorch_mll``, and ``qLogNoisyExpectedImprovement`` maximized by ``optimize_acqf`` with
  ``num_restarts=10, raw_samples=512`` (the settings of BoTorch's tutorials).

Writes ``benchmarks/results/bo-scaling.json`` (every timing, plus what was run), ``bo-scaling.md``
(tables) and ``bo-scaling.png`` (the two curves). Each (tool, n, d) cell runs in its own process
(``--workers``), one thread each.

Examples::

    python benchmarks/bo_scaling.py                         # n in 25..1000 at d=5; d in 2..50 at n=50
    python benchmarks/bo_scaling.py --tools guardopt,guardopt-exact --ns 25,100,500 --ds 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parent
RESULTS = ROOT / "results"
TOOLS = ("guardopt", "guardopt-exact", "optuna-gp", "botorch")
NS = (25, 50, 100, 200, 500, 1000)
DS = (2, 5, 10, 20, 50)
D_FOR_N = 5
N_FOR_D = 50


def objective(x: np.ndarray) -> float:
    """A smooth multimodal function on the unit cube (a shifted Rastrigin-like bowl)."""
    z = np.asarray(x, dtype=float) - 0.3
    return float(np.sum(z**2) + 0.1 * np.sum(1.0 - np.cos(6.0 * np.pi * z)))


def _data(n: int, d: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([seed, n, d])
    x = rng.random((n, d))
    return x, np.array([objective(row) for row in x])


def _time_guardopt(x: np.ndarray, y: np.ndarray, reps: int, seed: int, exact: bool) -> list[float]:
    import guardopt as go
    from guardopt.bo.optimizer import GPOptimizer

    d = x.shape[1]
    space = go.Space({f"x{i}": go.Real(0.0, 1.0) for i in range(d)})
    opt = GPOptimizer("ei", seed=seed, fit_subset=None if exact else 256)
    study = go.Study(space, optimizer=opt)
    for row, v in zip(x, y, strict=True):
        study.add_trial({f"x{i}": float(row[i]) for i in range(d)}, float(v))
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        trial = study.ask()
        times.append(time.process_time() - t0)
        study.tell(trial, objective(np.array([trial.params[f"x{i}"] for i in range(d)])))
    return times


def _time_optuna(x: np.ndarray, y: np.ndarray, reps: int, seed: int) -> list[float]:
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    d = x.shape[1]
    dists = {f"x{i}": optuna.distributions.FloatDistribution(0.0, 1.0) for i in range(d)}
    study = optuna.create_study(sampler=optuna.samplers.GPSampler(seed=seed))
    study.add_trials([optuna.trial.create_trial(params={f"x{i}": float(row[i]) for i in range(d)},
                                                distributions=dists, value=float(v))
                      for row, v in zip(x, y, strict=True)])
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        trial = study.ask(dists)
        times.append(time.process_time() - t0)
        study.tell(trial, objective(np.array([trial.params[f"x{i}"] for i in range(d)])))
    return times


def _time_botorch(x: np.ndarray, y: np.ndarray, reps: int, seed: int) -> list[float]:
    import torch
    from botorch.acquisition.logei import qLogNoisyExpectedImprovement
    from botorch.fit import fit_gpytorch_mll
    from botorch.models import SingleTaskGP
    from botorch.models.transforms import Normalize, Standardize
    from botorch.optim import optimize_acqf
    from gpytorch.mlls import ExactMarginalLogLikelihood

    torch.set_num_threads(1)
    torch.manual_seed(seed)
    d = x.shape[1]
    bounds = torch.stack([torch.zeros(d, dtype=torch.double), torch.ones(d, dtype=torch.double)])
    xs, ys = [row for row in x], list(y)
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        train_x = torch.tensor(np.array(xs), dtype=torch.double)
        train_y = -torch.tensor(ys, dtype=torch.double).unsqueeze(-1)
        model = SingleTaskGP(train_x, train_y, input_transform=Normalize(d, bounds=bounds),
                             outcome_transform=Standardize(1))
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
        acqf = qLogNoisyExpectedImprovement(model, train_x, prune_baseline=True)
        cand, _ = optimize_acqf(acqf, bounds=bounds, q=1, num_restarts=10, raw_samples=512)
        times.append(time.process_time() - t0)
        new = cand[0].detach().numpy()
        xs.append(new)
        ys.append(objective(new))
    return times


def run_cell(tool: str, n: int, d: int, reps: int, seed: int) -> dict[str, Any]:
    """Time ``reps`` suggestions of ``tool`` after ``n`` points in ``d`` dimensions."""
    x, y = _data(n, d, seed)
    reps += 1  # the first suggestion pays for imports and warm-up; it is not counted
    if tool in ("guardopt", "guardopt-exact"):
        times = _time_guardopt(x, y, reps, seed, exact=tool == "guardopt-exact")
    elif tool == "optuna-gp":
        times = _time_optuna(x, y, reps, seed)
    elif tool == "botorch":
        times = _time_botorch(x, y, reps, seed)
    else:
        raise ValueError(f"unknown tool {tool!r}")
    times = times[1:]
    return {"tool": tool, "n": n, "d": d, "times": times, "median_s": statistics.median(times)}


def _cells(tools: list[str], ns: list[int], ds: list[int]) -> list[tuple[str, int, int]]:
    cells = [(t, n, D_FOR_N) for t in tools for n in ns]
    cells += [(t, N_FOR_D, d) for t in tools for d in ds if (t, N_FOR_D, d) not in cells]
    return cells


def _table(rows: list[dict[str, Any]], tools: list[str], key: str, values: list[int], fixed: str) -> list[str]:
    by = {(r["tool"], r[key]): r for r in rows if r[fixed] == (D_FOR_N if key == "n" else N_FOR_D)}
    head = f"| {key} | " + " | ".join(tools) + " | " + " | ".join(f"{t} / optuna-gp" for t in tools if t != "optuna-gp")
    lines = [head + " |", "|" + "---|" * (1 + len(tools) + len([t for t in tools if t != "optuna-gp"]))]
    for v in values:
        cells, ratio = [], []
        ref = by.get(("optuna-gp", v), {}).get("median_s")
        for t in tools:
            r = by.get((t, v))
            cells.append("—" if r is None else f"{r['median_s']:.3g}")
        for t in tools:
            if t == "optuna-gp":
                continue
            r = by.get((t, v))
            if r is None or not ref:
                ratio.append("—")
            else:
                ratio.append(f"{r['median_s'] / ref:.2f}")
        lines.append(f"| {v} | " + " | ".join(cells) + " | " + " | ".join(ratio) + " |")
    return lines


def _plot(rows: list[dict[str, Any]], tools: list[str], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key, fixed, val in ((axes[0], "n", "d", D_FOR_N), (axes[1], "d", "n", N_FOR_D)):
        for t in tools:
            pts = sorted((r[key], r["median_s"]) for r in rows
                         if r["tool"] == t and r[fixed] == val)
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=t)
        ax.set_xscale("log")
        ax.set_yscale("log")
        # label exactly the measured sizes: log-scale minor labels overlap on a short axis
        ticks = sorted({r[key] for r in rows if r[fixed] == val})
        ax.set_xticks(ticks, [str(v) for v in ticks])
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xlabel(f"{key} ({fixed} = {val})")
        ax.set_ylabel("CPU seconds per suggestion (median)")
        ax.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    fig.suptitle("Cost of one suggestion as the work grows")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tools", default=",".join(TOOLS))
    ap.add_argument("--ns", default=",".join(map(str, NS)))
    ap.add_argument("--ds", default=",".join(map(str, DS)))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--out", default=str(RESULTS / "bo-scaling"))
    args = ap.parse_args(argv)
    tools = [t for t in args.tools.split(",") if t]
    ns = [int(v) for v in args.ns.split(",") if v]
    ds = [int(v) for v in args.ds.split(",") if v]
    cells = _cells(tools, ns, ds)
    rows: list[dict[str, Any]] = []
    started = time.time()
    with ProcessPoolExecutor(max_workers=args.workers) as pool:
        futs = {pool.submit(run_cell, t, n, d, args.reps, args.seed): (t, n, d) for t, n, d in cells}
        for fut in as_completed(futs):
            t, n, d = futs[fut]
            row = fut.result()
            rows.append(row)
            print(f"{t:15s} n={n:5d} d={d:3d} " + f"{row['median_s']:.3f} s",
                  flush=True)
    command = "python benchmarks/bo_scaling.py " + " ".join(argv if argv is not None else sys.argv[1:])
    meta = {"command": command.strip(), "machine": f"{platform.machine()} {os.cpu_count()} CPUs",
            "workers": args.workers, "reps": args.reps, "date_utc": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
            "wall_s": round(time.time() - started, 1), "d_for_n": D_FOR_N, "n_for_d": N_FOR_D}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, "rows": rows}, indent=1))
    md = ["# Seconds per suggestion as n and d grow", "",
          f"Made by `{meta['command']}` on {meta['machine']}, workers={args.workers}, "
          f"{args.reps} timed suggestions per cell (median CPU seconds of one thread), "
          f"{meta['date_utc']} UTC, {meta['wall_s']} s in all.", "",
          f"## Growing n (d = {D_FOR_N})", "", *_table(rows, tools, "n", ns, "d"), "",
          f"## Growing d (n = {N_FOR_D})", "", *_table(rows, tools, "d", ds, "n"), "",
          f"![seconds per suggestion]({out.with_suffix('.png').name})", ""]
    out.with_suffix(".md").write_text("\n".join(md))
    _plot(rows, tools, out.with_suffix(".png"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Benchmark: trials per second against SQLite and PostgreSQL with 1, 2, 4 and 8 worker processes.

Each worker is its own process (forked, so none pays an import) with its own `guardopt.Study` on the
same study name and its own connection, as workers on several hosts would be. The objective is a
quadratic that costs microseconds and the optimizer is `RandomSearch`, so what is measured is the
storage and the study's bookkeeping per trial: allocating the number (one transaction), storing the
result (one transaction), and reading the trials other workers finished. All workers wait on a
barrier after opening the study; the rate is the total trials over the time from the barrier to the
last worker's end.

PostgreSQL runs on a throwaway server started here (initdb in a temporary folder, 127.0.0.1,
``fsync=off`` as in the tests: what is measured is the protocol and locking, not the disk) through
tests/pg_server.py; SQLite is a file in a temporary folder (WAL journal, ``synchronous=NORMAL``, its
defaults). The machine's cores bound the rate from above: with more workers than cores the workers
also compete for CPU, which the table shows beside the storage's own limit.

Writes ``benchmarks/results/storage_throughput.json`` and ``storage_throughput.md``.

Example::

    PYTHONPATH=src python benchmarks/storage_throughput.py --trials 240 --repeats 2
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
WORKERS = (1, 2, 4, 8)


def _worker(url: str, name: str, seed: int, n: int, barrier: Any, out: Any) -> None:
    import guardopt as go

    study = go.Study(go.Space({"x": go.Real(-5, 5), "y": go.Real(-5, 5)}), name=name,
                     optimizer=go.RandomSearch(seed=seed), storage=url)
    barrier.wait()
    start = time.perf_counter()
    study.optimize(lambda p: (p["x"] - 1) ** 2 + p["y"] ** 2, n_trials=n)
    out.put((start, time.perf_counter()))


def measure(url: str, name: str, workers: int, trials: int) -> dict[str, Any]:
    """One run: ``trials`` trials split evenly over ``workers`` processes; returns the timing."""
    import guardopt as go
    from guardopt.core.storage import make_storage

    go.Study(go.Space({"x": go.Real(-5, 5), "y": go.Real(-5, 5)}), name=name, storage=url)
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(workers), ctx.Queue()
    per = trials // workers
    procs = [ctx.Process(target=_worker, args=(url, name, seed, per, barrier, out)) for seed in range(workers)]
    for p in procs:
        p.start()
    spans = [out.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(60)
        if p.exitcode != 0:
            raise RuntimeError(f"a worker exited with {p.exitcode}")
    stored = make_storage(url).trials(name)
    numbers = [t.number for t in stored]
    if numbers != list(range(per * workers)):
        raise RuntimeError(f"lost or duplicated trial numbers in {name}: {len(numbers)} stored")
    wall = max(e for _, e in spans) - min(s for s, _ in spans)
    return {"workers": workers, "trials": per * workers, "seconds": wall, "trials_per_s": per * workers / wall}


def run(trials: int, repeats: int, backends: list[str]) -> dict[str, Any]:
    sys.path.insert(0, str(HERE.parent / "tests"))
    results: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="guardopt-bench-") as tmp:
        server = None
        try:
            urls: dict[str, Any] = {}
            if "sqlite" in backends:
                urls["sqlite"] = lambda i: f"sqlite:///{Path(tmp) / f'bench{i}.db'}"
            if "postgresql" in backends:
                from pg_server import PostgresServer, why_unavailable

                reason = why_unavailable()
                if reason is not None:
                    print(f"skipping PostgreSQL: {reason}")
                else:
                    server = PostgresServer()
                    server.start()
                    srv = server
                    urls["postgresql"] = lambda i: srv.new_database()
            k = 0
            for backend, make_url in urls.items():
                for workers in WORKERS:
                    for rep in range(repeats):
                        k += 1
                        r = measure(make_url(k), f"bench-{k}", workers, trials)
                        r.update(backend=backend, repeat=rep)
                        results.append(r)
                        print(f"{backend:10s} workers={workers} rep={rep}: {r['trials_per_s']:.1f} trials/s "
                              f"({r['trials']} trials in {r['seconds']:.2f} s)", flush=True)
        finally:
            if server is not None:
                server.destroy()
    return {
        "what": "trials/s of a microsecond objective with RandomSearch, N worker processes on one study",
        "trials_per_run": trials, "repeats": repeats, "cpu_count": os.cpu_count(),
        "load_average_at_end": os.getloadavg(), "python": platform.python_version(),
        "platform": platform.platform(), "results": results,
    }


def to_markdown(data: dict[str, Any]) -> str:
    rows = data["results"]
    backends = sorted({r["backend"] for r in rows}, key=["sqlite", "postgresql"].index)
    load = ", ".join(f"{x:.2f}" for x in data["load_average_at_end"])
    lines = [
        "# Storage throughput: trials per second by backend and worker processes",
        "",
        f"{data['what']}; {data['trials_per_run']} trials per run, median of {data['repeats']} run(s); "
        f"{data['cpu_count']} CPU cores (load average at the end {load}); "
        f"Python {data['python']}.",
        "",
        "| workers | " + " | ".join(f"{b}: trials/s, median (min-max)" for b in backends) + " |",
        "|---:|" + "---:|" * len(backends),
    ]
    for w in WORKERS:
        cells = []
        for b in backends:
            vals = [r["trials_per_s"] for r in rows if r["backend"] == b and r["workers"] == w]
            cells.append(f"{statistics.median(vals):.0f} ({min(vals):.0f}-{max(vals):.0f})" if vals else "-")
        lines.append(f"| {w} | " + " | ".join(cells) + " |")
    lines += ["", "Produced by `PYTHONPATH=src python benchmarks/storage_throughput.py` "
              f"--trials {data['trials_per_run']} --repeats {data['repeats']}.", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=240, help="trials per run (split over the workers)")
    ap.add_argument("--repeats", type=int, default=1, help="runs per backend and worker count (median shown)")
    ap.add_argument("--backends", default="sqlite,postgresql", help="comma-separated: sqlite, postgresql")
    args = ap.parse_args(argv)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    data = run(args.trials, args.repeats, args.backends.split(","))
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "storage_throughput.json").write_text(json.dumps(data, indent=2) + "\n")
    (RESULTS / "storage_throughput.md").write_text(to_markdown(data))
    print(to_markdown(data))


if __name__ == "__main__":
    main()

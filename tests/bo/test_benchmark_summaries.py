"""The benchmark summaries' bookkeeping, on hand-made records: the Hartmann6 basin diagnosis
(benchmarks/bo_basins.py) and the multi-objective interval of a median difference (benchmarks/multiobjective.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "bo_basins.py"


def _load(path: Path, name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bb():  # type: ignore[no-untyped-def]
    return _load(_PATH, "bo_basins_under_test")


@pytest.fixture(scope="module")
def mob():  # type: ignore[no-untyped-def]
    return _load(_PATH.parent / "multiobjective.py", "multiobjective_benchmark_under_test")


def _rec(variant: str, seed: int, basin: str, design: str, regret: float) -> dict:
    return {"variant": variant, "seed": seed, "basin": basin, "design_basin": design, "regret": regret}


def test_parse_seeds_reads_lists_and_inclusive_ranges(bb) -> None:  # type: ignore[no-untyped-def]
    assert bb.parse_seeds("0,2,5") == [0, 2, 5]
    assert bb.parse_seeds("3-6,9") == [3, 4, 5, 6, 9]


def test_nearest_basin_names_the_nearer_minimizer(bb) -> None:  # type: ignore[no-untyped-def]
    far = np.full(6, 0.99)
    assert bb.nearest_basin(np.vstack([far, bb.X_GLOBAL + 0.01])) == "global"
    assert bb.nearest_basin(np.vstack([far, bb.X_SECOND + 0.01])) == "second"


def test_design_decides_counts_by_hand(bb) -> None:  # type: ignore[no-untyped-def]
    recs = [_rec("v", 0, "global", "global", 1e-5), _rec("v", 1, "second", "second", 0.12),
            _rec("v", 2, "global", "second", 1e-4), _rec("v", 3, "second", "global", 0.12)]
    row = next(line for line in bb.design_decides(recs) if line.startswith("| v |"))
    # design nearer global 2/4; ended in the design's basin 2/4; one moved up, one moved down
    assert row == "| v | 4 | 2/4 | 2/4 | 1 | 1 |"


def test_seed_blocks_compares_medians_block_by_block(bb) -> None:  # type: ignore[no-untyped-def]
    recs = []
    for s in range(20):  # block 0-9: "a" better; block 10-19: "b" better
        ra, rb = (1e-5, 1e-1) if s < 10 else (1e-1, 1e-3)
        recs += [_rec("baseline", s, "global", "global", ra), _rec("optuna-gp", s, "second", "global", rb)]
    recs.append(_rec("baseline", 25, "global", "global", 1e-5))  # an incomplete block is left out
    lines = bb.seed_blocks(recs)
    assert "| 0-9 | -5.00 | -1.00 | 10/10 | 0/10 | guardopt |" in lines
    assert "| 10-19 | -1.00 | -3.00 | 10/10 | 0/10 | GPSampler |" in lines
    assert not any(line.startswith("| 20-29") for line in lines)
    assert lines[-1] == "guardopt's median is at or below GPSampler's on 1 of 2 blocks."


def test_how_sure_compares_the_benchmark_seeds_and_the_rest(bb) -> None:  # type: ignore[no-untyped-def]
    # Seeds 0-9: both tools at regret 1e-3 (a tie); seeds 10-19: GPOptimizer 1e-5, GPSampler 1e-1.
    recs = [_rec("baseline", s, "global", "global", 1e-3 if s < 10 else 1e-5) for s in range(20)]
    recs += [_rec("optuna-gp", s, "global", "global", 1e-3 if s < 10 else 1e-1) for s in range(20)]
    rows = {line.split(" | ")[0]: line for line in bb.how_sure(recs) if line.startswith("| ") and "seeds" not in line}
    assert rows["| 0-9 (the benchmark's)"].startswith("| 0-9 (the benchmark's) | 10 | +0.00 | [+0.00, +0.00] |")
    assert rows["| after 9"].startswith("| after 9 | 10 | -4.00 | [-4.00, -4.00] |")
    assert rows["| all"].startswith("| all | 20 | ")


def test_constant_samples_give_a_point_interval(mob) -> None:  # type: ignore[no-untyped-def]
    # Every resample of [3, 3, 3] has median 3 and of [1, 1] median 1: the interval is the point 2.
    assert mob.median_difference_interval([3.0, 3.0, 3.0], [1.0, 1.0], n_boot=200) == (2.0, 2.0, 2.0)


def test_separated_samples_exclude_zero(mob) -> None:  # type: ignore[no-untyped-def]
    # Resampled medians of [10, 11, 12] lie in [10, 12] and of [0, 1, 2] in [0, 2]: the difference is in [8, 12].
    diff, lo, hi = mob.median_difference_interval([10.0, 11.0, 12.0], [0.0, 1.0, 2.0], n_boot=2000)
    assert diff == 10.0
    assert 8.0 <= lo <= diff <= hi <= 12.0


def test_identical_samples_hold_zero(mob) -> None:  # type: ignore[no-untyped-def]
    diff, lo, hi = mob.median_difference_interval([0.0, 1.0, 2.0, 3.0], [0.0, 1.0, 2.0, 3.0], n_boot=2000)
    assert diff == 0.0
    assert lo < 0.0 < hi


def test_summary_reports_the_interval_against_nsga2(mob) -> None:  # type: ignore[no-untyped-def]
    recs = [{"problem": "dtlz2", "tool": t, "seed": s, "hv": v, "budget": 30, "hv_norm": None,
             "sec_per_suggestion": 0.1, "values": [[1.0, 1.0, 1.0]]}
            for t, vals in (("guardopt-ehvi", [0.2, 0.3, 0.4]), ("optuna-nsga2", [0.1, 0.2, 0.3]))
            for s, v in enumerate(vals)]
    text = mob.summarize(recs, {}, [])
    row = next(line for line in text.splitlines() if line.startswith("| dtlz2 | guardopt-ehvi | 3 / 3 |"))
    assert "| +0.1 |" in row


@pytest.fixture(scope="module")
def cond():  # type: ignore[no-untyped-def]
    return _load(_PATH.parent / "conditional.py", "conditional_benchmark_under_test")


def _cond(task: str, method: str, seed: int, best: float) -> dict:
    return {"task": task, "method": method, "seed": seed, "best": best, "overhead_s_per_trial": 0.0}


def test_conditional_how_sure_is_signed_for_the_gp_and_names_the_seeds(cond) -> None:  # type: ignore[no-untyped-def]
    # accuracy (higher better): GP medians 0.90, TPE 0.95 -> -0.05; jenatton (lower better): GP 0.1, TPE 0.3 -> +0.2
    records = [_cond("svc-digits", "gp", s, v) for s, v in enumerate([0.90, 0.90, 0.90])]
    records += [_cond("svc-digits", "tpe", s, v) for s, v in enumerate([0.95, 0.95, 0.95])]
    records += [_cond("jenatton", "gp", s, 0.1) for s in range(3)]
    records += [_cond("jenatton", "tpe", s, 0.3) for s in range(3)]
    records += [_cond("jenatton", "optuna-gp", s + 10, 0.5) for s in range(2)]
    rows = {tuple(c.strip() for c in line.split("|")[1:3]): line for line in cond._how_sure(records, ["svc-digits",
                                                                                                    "jenatton"])
            if line.startswith("| ") and not line.startswith("| task")}
    assert "| 3 / 3 | -0.0500 | [-0.0500, -0.0500] |" in rows[("svc-digits", "gp")]
    assert "| 3 / 3 | +0.2000 | [+0.2000, +0.2000] |" in rows[("jenatton", "gp")]
    assert "| 2 / 3 | -0.2000 | [-0.2000, -0.2000] |" in rows[("jenatton", "optuna-gp")]
    assert ("svc-digits", "optuna-gp") not in rows  # no runs: no line, never a made-up difference
    meta = {"budget": 30, "folds": 3, "machine": "m", "wall_s": 1.0}
    head = cond.summarize(records, ["svc-digits", "jenatton"], ["gp", "tpe", "optuna-gp"], meta).splitlines()[2]
    assert head.startswith("Budget 30 trials, seeds 0..11 (5 seeds)")

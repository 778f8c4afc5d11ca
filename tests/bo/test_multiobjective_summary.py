"""The multi-objective benchmark's interval for a difference of medians (benchmarks/multiobjective.py)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parents[2] / "benchmarks" / "multiobjective.py"


@pytest.fixture(scope="module")
def mob():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location("multiobjective_benchmark_under_test", _PATH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


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

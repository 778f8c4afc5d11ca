"""What a reproduction declares: the paper, its claim, the grid, and how the verdict is computed.

A reproduction is data plus three functions. The runner expands ``tasks x methods x seeds`` into
`Cell`s, runs `Reproduction.run_cell` on each (in worker processes, so it must be a module-level
function), stores each `CellResult` as it finishes, and hands the stored rows back as `Results` to
`Reproduction.verdict` and `Reproduction.plots`. No verdict is ever written by hand: it is a function
of the stored numbers, and it names the numbers that decided it (`Evidence`).
"""

from __future__ import annotations

import enum
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from guardopt.core.errors import InvalidParameterError


class Status(str, enum.Enum):
    """The three verdicts a claim can get."""

    HOLDS = "HOLDS"
    FAILS = "FAILS"
    INCONCLUSIVE = "INCONCLUSIVE"


@dataclass(frozen=True)
class Paper:
    """The paper whose claim is checked."""

    title: str
    year: int
    url: str


@dataclass(frozen=True)
class Scale:
    """One scale of a reproduction: how many seeds, and free-form settings passed to every cell."""

    seeds: int
    settings: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.seeds, int) or self.seeds < 1:
            raise InvalidParameterError("seeds", "Scale", "a positive integer", self.seeds)


@dataclass(frozen=True)
class Cell:
    """One unit of work: a task, a method and a seed at one scale."""

    reproduction: str
    task: str
    method: str
    seed: int
    scale: str
    settings: Mapping[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str, str, int, str]:
        """The identity under which the cell is stored (a rerun skips stored keys)."""
        return (self.reproduction, self.task, self.method, self.seed, self.scale)


@dataclass(frozen=True)
class CellResult:
    """What a cell measured: scalar metrics and, optionally, curves (e.g. regret per round)."""

    metrics: Mapping[str, float]
    curves: Mapping[str, Sequence[float]] = field(default_factory=dict)


class Outcome(str, enum.Enum):
    """What one check of a verdict found.

    ``VACUOUS``: the check would pass, but only because the method returned nothing to check (a bound
    that never certified, a rate over zero releases); it never counts as a pass.
    ``INCONCLUSIVE``: the claim cannot be tested at this scale; the check is kept and says why.
    """

    PASS = "pass"
    FAIL = "FAIL"
    VACUOUS = "VACUOUS"
    INCONCLUSIVE = "INCONCLUSIVE"


def _is_nan(value: object) -> bool:
    try:
        return math.isnan(value)  # type: ignore[arg-type]
    except TypeError:
        return False


@dataclass(frozen=True)
class Evidence:
    """One number that decided a verdict, with the threshold it was compared to.

    ``passed`` is the comparison of ``value`` with ``threshold``; ``outcome`` (default: PASS or FAIL
    from ``passed``) may instead say VACUOUS or INCONCLUSIVE, which never count as passes.
    ``detail`` is free text shown beside the number (an interval, the counts behind a rate).
    """

    check: str
    value: float
    threshold: float | None
    passed: bool
    outcome: Outcome | None = None
    detail: str = ""

    def __post_init__(self) -> None:
        if self.outcome is None and _is_nan(self.value):
            # No value (no finished cells to compute it from): neither a pass nor a failure, as
            # `Verdict.from_evidence` treats it, and the report row says so.
            object.__setattr__(self, "outcome", Outcome.INCONCLUSIVE)
        elif self.outcome is None:
            object.__setattr__(self, "outcome", Outcome.PASS if self.passed else Outcome.FAIL)
        elif self.outcome is Outcome.PASS and not self.passed:
            raise InvalidParameterError("outcome", "Evidence", "consistent with passed=False", self.outcome)
        elif self.outcome is Outcome.FAIL and self.passed:
            raise InvalidParameterError("outcome", "Evidence", "consistent with passed=True", self.outcome)

    @property
    def counts_as_pass(self) -> bool:
        """True only for a real pass: a VACUOUS or INCONCLUSIVE check is not one."""
        return self.outcome is Outcome.PASS


@dataclass(frozen=True)
class Verdict:
    """HOLDS / FAILS / INCONCLUSIVE, a one-line summary, and the numbers behind it."""

    status: Status
    summary: str
    evidence: tuple[Evidence, ...] = ()

    @staticmethod
    def from_evidence(evidence: Iterable[Evidence], summary: str = "", min_cells_ok: bool = True) -> Verdict:
        """FAILS when a check failed, else HOLDS when every check really passed, else INCONCLUSIVE.

        A failed check decides, even beside missing data: a claim that was contradicted is not
        rescued by an untested one. Otherwise a check whose value is NaN (no finished cells to
        compute it from), a VACUOUS check (nothing was returned to check) or an INCONCLUSIVE one
        makes the verdict INCONCLUSIVE: the claim was not fully tested, so it does not hold.
        """
        ev = tuple(evidence)
        if any(e.outcome is Outcome.FAIL and not math.isnan(e.value) for e in ev):
            status = Status.FAILS
        elif not min_cells_ok or not ev or any(math.isnan(e.value) or not e.counts_as_pass for e in ev):
            status = Status.INCONCLUSIVE
        else:
            status = Status.HOLDS
        if not summary:
            n_ok = sum(e.counts_as_pass for e in ev)
            summary = f"{n_ok} of {len(ev)} checks passed"
            others = [f"{sum(e.outcome is o for e in ev)} {o.value}" for o in (Outcome.VACUOUS, Outcome.INCONCLUSIVE)
                      if any(e.outcome is o for e in ev)]
            if others:
                summary += " (" + ", ".join(others) + ")"
        return Verdict(status, summary, ev)


@dataclass(frozen=True)
class Record:
    """One stored cell as the verdict sees it."""

    task: str
    method: str
    seed: int
    status: str  # "done" or "failed"
    metrics: Mapping[str, float]
    curves: Mapping[str, Sequence[float]]
    wall_time: float = float("nan")
    error: str | None = None


class Results:
    """The stored rows of one reproduction at one scale, with accessors for verdicts and plots."""

    def __init__(self, records: Sequence[Record], tasks: Sequence[str], methods: Sequence[str]) -> None:
        self.records = list(records)
        self.tasks = list(tasks)
        self.methods = list(methods)

    @property
    def done(self) -> list[Record]:
        """Records of the cells that finished without raising."""
        return [r for r in self.records if r.status == "done"]

    @property
    def failed(self) -> list[Record]:
        """Records of the cells that raised."""
        return [r for r in self.records if r.status != "done"]

    def _select(self, task: str | None, method: str | None) -> list[Record]:
        rows = [
            r
            for r in self.done
            if (task is None or r.task == task) and (method is None or r.method == method)
        ]
        return sorted(rows, key=lambda r: (r.task, r.method, r.seed))

    def metric(self, name: str, task: str | None = None, method: str | None = None) -> np.ndarray:
        """One value per finished cell (sorted by seed); shape ``(n_cells,)``; NaN where absent."""
        rows = self._select(task, method)
        return np.array([float(r.metrics.get(name, math.nan)) for r in rows], dtype=float)

    def curves(self, name: str, task: str | None = None, method: str | None = None) -> np.ndarray:
        """Curves of the finished cells, shape ``(n_cells, T)``; shorter curves are NaN-padded."""
        rows = [r for r in self._select(task, method) if name in r.curves]
        if not rows:
            return np.empty((0, 0))
        length = max(len(r.curves[name]) for r in rows)
        out = np.full((len(rows), length), np.nan)
        for i, r in enumerate(rows):
            c = np.asarray(r.curves[name], dtype=float)
            out[i, : len(c)] = c
        return out

    def paired(self, metric: str, a: tuple[str, str], b: tuple[str, str]) -> tuple[np.ndarray, np.ndarray]:
        """``metric`` of ``a = (task, method)`` and ``b`` on the seeds both finished, aligned by seed.

        Returns two arrays of shape ``(n_common_seeds,)``, in seed order: the pairs a paired
        comparison (`guardopt.reproduce.criteria.paired_gain`) needs.
        """
        va = dict(zip(self.seeds(*a), self.metric(metric, *a)))
        vb = dict(zip(self.seeds(*b), self.metric(metric, *b)))
        common = sorted(set(va) & set(vb))
        return (np.array([va[s] for s in common], dtype=float), np.array([vb[s] for s in common], dtype=float))

    def seeds(self, task: str | None = None, method: str | None = None) -> list[int]:
        """Seeds of the finished cells for a task / method."""
        return [r.seed for r in self._select(task, method)]


RunCell = Callable[[Cell], CellResult]
VerdictFn = Callable[[Results], Verdict]
PlotFn = Callable[[Results, Path], list[Path]]
MarkdownFn = Callable[[Results], str]
GridFn = Callable[[str], Iterable[tuple[str, str]]]


@dataclass(frozen=True)
class Reproduction:
    """A paper's claim, declared as a grid of cells plus a verdict computed from stored numbers.

    Args:
        name: Short CLI name, e.g. ``"safety-test"``.
        paper: The paper.
        claim: The headline claim in one sentence.
        tasks: Task names (problems, environments, settings).
        methods: Method names: the paper's method first, then its baselines.
        metrics: Names of the scalar metrics every cell records (the report tabulates them).
        scales: ``{"quick": Scale(...), "full": Scale(...)}``.
        run_cell: Module-level function ``Cell -> CellResult``.
        verdict: ``Results -> Verdict``.
        plots: Optional ``(Results, outdir) -> list of PNG paths``.
        extra_markdown: Optional ``Results -> str`` appended to the report (extra tables, notes
            computed from the numbers).
        grid: Optional ``scale -> iterable of (task, method)`` when not every pair applies.
        notes: Static Markdown: design of the experiment, deviations from the paper, calibration.
    """

    name: str
    paper: Paper
    claim: str
    tasks: tuple[str, ...]
    methods: tuple[str, ...]
    metrics: tuple[str, ...]
    scales: Mapping[str, Scale]
    run_cell: RunCell
    verdict: VerdictFn
    plots: PlotFn | None = None
    extra_markdown: MarkdownFn | None = None
    grid: GridFn | None = None
    notes: str = ""

    def __post_init__(self) -> None:
        for scale in ("quick", "full"):
            if scale not in self.scales:
                raise InvalidParameterError("scales", f"Reproduction {self.name!r}", "a mapping with "
                                            "'quick' and 'full' entries", sorted(self.scales))
        if not self.tasks or not self.methods:
            raise InvalidParameterError("tasks", f"Reproduction {self.name!r}", "non-empty", self.tasks)

    def cells(self, scale: str, seeds: int | None = None) -> list[Cell]:
        """Expand the grid at a scale into cells (``seeds`` overrides the scale's seed count)."""
        if scale not in self.scales:
            raise InvalidParameterError("scale", f"Reproduction {self.name!r}", f"one of {sorted(self.scales)}",
                                        scale)
        sc = self.scales[scale]
        n_seeds = sc.seeds if seeds is None else seeds
        pairs = list(self.grid(scale)) if self.grid else [(t, m) for t in self.tasks for m in self.methods]
        return [
            Cell(self.name, task, method, seed, scale, dict(sc.settings))
            for task, method in pairs
            for seed in range(n_seeds)
        ]

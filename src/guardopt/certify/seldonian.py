"""The Seldonian two-step: pick a candidate on one part of the data, test it on the other.

Thomas et al. (2019), "Preventing undesirable behavior of intelligent machines", Science 366:999;
the same two steps end HC-RLHF (Chittepu et al., 2025, arXiv 2506.08266).

1. **Split** the data into a candidate set ``D_c`` and a safety set ``D_s``
   (``safety_fraction`` of it, 0.6 by default as in the Seldonian toolkit).
2. **Candidate selection** on ``D_c`` only: minimise the model's loss subject to a *predicted*
   upper bound of every constraint being at most its threshold. The prediction uses the candidate
   data but the safety set's sample size, with the radius multiplied by ``inflation`` (2: the
   Seldonian papers' doubling), e.g. for a Student-t base variable
   ``mean_c + inflation · t_{1-δ', n_s-1} · sd_c / sqrt(n_s)``.
3. **Safety test** on ``D_s`` only: compute each constraint's ``1 - δ_i`` upper bound ``U_i``
   (`guardopt.certify.constraints` explains how expressions are bounded). Return the candidate if
   every ``U_i <= τ_i``; otherwise return `NoSolutionFound` with the bounds that failed.

Guarantee. The candidate depends on ``D_c`` only, so for a fixed candidate that violates
constraint ``i`` the test passes it with probability at most ``δ_i`` (exactly for Hoeffding,
approximately — by the central limit theorem — for Student-t). Hence
``P(return a solution that violates constraint i) <= δ_i``, and
``P(return a solution that violates any constraint) <= max_i δ_i``: a candidate that violates
several constraints is caught by any one of their tests, so no union bound over constraints is
needed for this statement. ``delta_allocation="split"`` divides ``delta`` evenly over the
constraints anyway (the conservative union bound), if a user wants each constraint's own test to
hold jointly with the others at level ``1 - delta``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from scipy import optimize

from guardopt.certify.columns import as_column
from guardopt.certify.constraints import WEIGHT_KEY, Constraint, Data, Mean
from guardopt.certify.models import CertifiableModel, finite_family
from guardopt.certify.oracles import (
    BOUNDS,
    check_counts,
    plug_in_means,
    predicted_oracle,
    safety_oracle,
)
from guardopt.core.errors import (
    GuardoptError,
    InputDataError,
    InsufficientDataError,
    as_float_array,
    check_choice,
    check_in_range,
    check_int,
)
from guardopt.core.seeding import make_rng

_BARRIER = 1e6  # Thomas et al. (2019): infeasible candidates score above every feasible one


@dataclass(frozen=True)
class BoundReport:
    """One constraint's numbers for one candidate.

    Attributes:
        constraint: The constraint's name.
        threshold: Its threshold ``τ``.
        estimate: Plug-in value of the expression on the data it was tested on.
        upper_bound: The ``1 - delta`` upper bound on the safety set (NaN: failed closed).
        predicted_upper_bound: Candidate selection's inflated prediction of it.
        delta: The constraint's miscoverage.
        n_events: One-sided base bounds sharing ``delta`` (each at ``delta / n_events``).
        passed: ``upper_bound <= threshold`` (False for NaN).
    """

    constraint: str
    threshold: float
    estimate: float
    upper_bound: float
    predicted_upper_bound: float
    delta: float
    n_events: int
    passed: bool

    def describe(self) -> str:
        """One line: the bound against the threshold."""
        rel = "<=" if self.passed else ("is NaN, not <=" if math.isnan(self.upper_bound) else ">")
        return (f"{self.constraint}: {_level(self.delta)}% upper bound {self.upper_bound:.4g} {rel} "
                f"{self.threshold:.4g} (estimate {self.estimate:.4g})")


def _level(delta: float) -> str:
    """``1 - delta`` in percent, with digits enough never to read 100: delta = 0.001 is 99.9, not 100."""
    level = 100.0 * (1.0 - delta)
    for digits in range(4, 17):
        text = f"{level:.{digits}g}"
        if float(text) < 100.0:
            return text
    return repr(level)


@dataclass(frozen=True)
class Candidate:
    """The outcome of candidate selection.

    Attributes:
        params: The chosen parameters ``(p,)``.
        loss: Its loss on the candidate data.
        predicted_upper_bounds: One predicted bound per constraint.
        predicted_feasible: Whether every predicted bound met its threshold (when False, the search
            found nothing predicted to pass; the least-violating candidate is still tested).
        n_considered: Candidates evaluated (family size, or objective evaluations).
    """

    params: np.ndarray
    loss: float
    predicted_upper_bounds: tuple[float, ...]
    predicted_feasible: bool
    n_considered: int


@dataclass(frozen=True)
class Certified:
    """A solution that passed the safety test.

    Attributes:
        params: Certified parameters ``(p,)``.
        reports: One `BoundReport` per constraint (all passed).
        candidate: The candidate-selection outcome.
        n_candidate, n_safety: Samples in each split (``n_candidate`` is 0 when only `Seldonian.test`
            ran).
        trivial: ``"approves everyone"`` or ``"approves nobody"`` when every output of the model on
            the safety set is 1 (or every one is 0): a constant decision meets a parity constraint
            by construction, so such a certificate says nothing about the model's quality; None
            otherwise. (Read it for 0/1 decisions; for other outputs it only marks a constant 1 or 0.)
    """

    params: np.ndarray
    reports: tuple[BoundReport, ...]
    candidate: Candidate | None
    n_candidate: int
    n_safety: int
    trivial: str | None = None

    @property
    def solution_found(self) -> bool:
        return True

    @property
    def is_trivial(self) -> bool:
        """Whether the certified model gives every row the same decision (see ``trivial``)."""
        return self.trivial is not None

    @property
    def reason(self) -> str:
        """Why it passed: every bound against its threshold (and a warning for a trivial certificate)."""
        text = "; ".join(r.describe() for r in self.reports)
        if self.trivial is not None:
            text += (f"; TRIVIAL certificate: the model {self.trivial} on the safety set, which meets a "
                     "gap constraint by construction")
        return text

    def __bool__(self) -> bool:
        return True

    def unwrap(self) -> np.ndarray:
        """The certified parameters."""
        return self.params


@dataclass(frozen=True)
class NoSolutionFound:
    """The safety test failed: nothing is released.

    Attributes:
        reason: Which bound failed, in words.
        failed: Reports of the constraints whose test failed.
        reports: Reports of every constraint.
        rejected_params: The candidate that was refused — for diagnosis only, never to deploy.
        candidate: The candidate-selection outcome.
        n_candidate, n_safety: Samples in each split.
    """

    reason: str
    failed: tuple[BoundReport, ...]
    reports: tuple[BoundReport, ...]
    rejected_params: np.ndarray | None
    candidate: Candidate | None
    n_candidate: int
    n_safety: int

    @property
    def solution_found(self) -> bool:
        return False

    def __bool__(self) -> bool:
        return False

    def unwrap(self) -> np.ndarray:
        """Raise `NoSolutionFoundError` (there are no parameters to release)."""
        raise NoSolutionFoundError(self)


class NoSolutionFoundError(GuardoptError):
    """Raised by `NoSolutionFound.unwrap`; ``.result`` holds the `NoSolutionFound`."""

    def __init__(self, result: NoSolutionFound) -> None:
        self.result = result
        super().__init__(f"No solution found: {result.reason}")


SeldonianResult = Certified | NoSolutionFound


@dataclass(frozen=True)
class Seldonian:
    """Configuration of the Seldonian two-step (candidate selection, then safety test).

    Args:
        delta: Allowed probability of returning a solution that violates a constraint, in (0, 1).
            Constraints with their own ``delta`` keep it.
        safety_fraction: Share of the data held out for the safety test, in (0, 1).
        bound: ``"ttest"`` (Student-t; approximate for small or skewed samples) or ``"hoeffding"``
            (exact; needs every base variable's range).
        inflation: Multiplier of the predicted bound's radius in candidate selection (>= 0; 2 in
            the Seldonian papers; 1 predicts the test exactly, larger is more cautious).
        delta_allocation: ``"per-constraint"`` (every constraint tested at its own delta; see the
            module docstring for why this bounds the chance of any violation by ``max δ_i``) or
            ``"split"`` (``delta / k`` for each of ``k`` constraints).
        search: Optimiser for models without a finite candidate family: ``"powell"`` or
            ``"nelder-mead"`` on the barrier objective of Thomas et al. (2019), or ``"slsqp"`` with
            one inequality per smooth piece of each predicted bound.
        max_iter: Iterations of that optimiser.
    """

    delta: float = 0.05
    safety_fraction: float = 0.6
    bound: Literal["ttest", "hoeffding"] = "ttest"
    inflation: float = 2.0
    delta_allocation: Literal["per-constraint", "split"] = "per-constraint"
    search: Literal["powell", "nelder-mead", "slsqp"] = "powell"
    max_iter: int = 200

    def __post_init__(self) -> None:
        check_in_range(self.delta, "delta", "Seldonian", 0.0, 1.0)
        check_in_range(self.safety_fraction, "safety_fraction", "Seldonian", 0.0, 1.0)
        check_choice(self.bound, "bound", "Seldonian", BOUNDS)
        check_in_range(self.inflation, "inflation", "Seldonian", 0.0, low_open=False)
        check_choice(self.delta_allocation, "delta_allocation", "Seldonian", ("per-constraint", "split"))
        check_choice(self.search, "search", "Seldonian", ("powell", "nelder-mead", "slsqp"))
        check_int(self.max_iter, "max_iter", "Seldonian", 1)

    # ------------------------------------------------------------------------------ public steps
    def run(self, model: CertifiableModel, data: Data, constraints: Constraint | Sequence[Constraint],
            seed: int | np.random.Generator | None = None) -> SeldonianResult:
        """Split, select a candidate, test it.

        Args:
            model: A `CertifiableModel`.
            data: Named arrays with a common first dimension ``n`` (optionally ``sample_weight``:
                integer frequency weights).
            constraints: One or more `Constraint`.
            seed: Seed or Generator for the split.

        Returns:
            `Certified` or `NoSolutionFound`.

        Raises:
            InputDataError: malformed data (NaN values, mismatched lengths, bad weights).
            InsufficientDataError: a split has too few samples for the bound of some base variable.
        """
        cons = _as_constraints(constraints)
        candidate_data, safety_data = self.split(data, seed)
        n_c, n_s = _size(candidate_data), _size(safety_data)
        bases = _all_bases(cons)
        check_counts(bases, candidate_data, _rows(candidate_data), self.bound, "The candidate set")
        check_counts(bases, safety_data, _rows(safety_data), self.bound, "The safety set")
        cand = self.select_candidate(model, candidate_data, cons, n_safety=n_s)
        result = self.test(model, cand.params, safety_data, cons, candidate=cand)
        if isinstance(result, Certified):
            return Certified(result.params, result.reports, cand, n_c, n_s, result.trivial)
        return NoSolutionFound(result.reason, result.failed, result.reports, result.rejected_params, cand, n_c, n_s)

    def split(self, data: Data, seed: int | np.random.Generator | None = None) -> tuple[Data, Data]:
        """Random candidate / safety split; frequency weights are split as counts.

        Returns:
            ``(candidate_data, safety_data)``.
        """
        n = _check_data(data)
        rng = make_rng(seed)
        if WEIGHT_KEY in data:
            w = np.asarray(data[WEIGHT_KEY]).astype(np.int64)
            total = int(w.sum())
            n_s = round(total * self.safety_fraction)
            _check_split(total, n_s)
            safety_w = rng.multivariate_hypergeometric(w, n_s)
            cand_w = w - safety_w
            return _take(data, cand_w > 0, cand_w), _take(data, safety_w > 0, safety_w)
        n_s = round(n * self.safety_fraction)
        _check_split(n, n_s)
        perm = rng.permutation(n)
        return _index(data, np.sort(perm[n_s:])), _index(data, np.sort(perm[:n_s]))

    def constraint_deltas(self, constraints: Sequence[Constraint]) -> list[float]:
        """Each constraint's miscoverage under ``delta_allocation``."""
        k = len(constraints)
        out = []
        for c in constraints:
            d = self.delta if c.delta is None else c.delta
            out.append(d / k if self.delta_allocation == "split" else d)
        return out

    def select_candidate(self, model: CertifiableModel, candidate_data: Data,
                         constraints: Constraint | Sequence[Constraint], n_safety: float) -> Candidate:
        """Candidate selection on candidate data, predicting the safety test at ``n_safety`` (> 0) samples.

        A finite family (``model.candidate_params``) is scanned; otherwise the barrier objective
        ``loss`` (if every predicted bound meets its threshold) or ``BARRIER + sum of predicted
        violations`` is minimised from ``model.initial_params`` (Thomas et al., 2019).
        """
        cons = _as_constraints(constraints)
        _check_data(candidate_data)
        n_safety = check_in_range(n_safety, "n_safety", "Seldonian.select_candidate", 0.0)
        n_candidate = _size(candidate_data)
        if n_candidate < 1:  # every frequency weight 0: no sample to select on (was a ZeroDivisionError)
            raise InsufficientDataError("Seldonian.select_candidate needs at least one candidate sample; the "
                                        "candidate data's frequency weights sum to 0.")
        ratio = n_safety / n_candidate
        deltas = self.constraint_deltas(cons)

        def evaluate(theta: np.ndarray) -> tuple[float, tuple[float, ...], float]:
            theta = as_float_array(theta, "params", "Seldonian.select_candidate")
            # A non-finite candidate or output is predicted to fail, so it is never chosen over one
            # that can pass (and the safety test refuses it anyway).
            if not np.isfinite(theta).all():
                return math.inf, (math.nan,) * len(cons), math.inf
            pred = _predictions(model, theta, candidate_data, "Seldonian.select_candidate")
            if not np.isfinite(pred).all():
                return math.inf, (math.nan,) * len(cons), math.inf
            oracle = predicted_oracle(pred, candidate_data, self.bound, ratio, self.inflation)
            ubs = tuple(c.upper_bound(oracle, d) for c, d in zip(cons, deltas))
            excess = [u - c.threshold if not math.isnan(u) else math.inf for u, c in zip(ubs, cons)]
            return float(model.loss(theta, candidate_data)), ubs, max(excess)

        family = finite_family(model, candidate_data)
        if family is None:
            family = self._search(model, candidate_data, cons, deltas, ratio, evaluate)
        if not family:
            raise InputDataError("The model's candidate family is empty.")
        best: tuple[bool, float, float, int] | None = None
        chosen = None
        for i, theta in enumerate(family):
            loss, ubs, worst = evaluate(theta)
            feasible = worst <= 0.0
            loss_key = loss if not math.isnan(loss) else math.inf
            # Feasible candidates first (lowest loss); otherwise the least predicted violation.
            key = (not feasible, loss_key if feasible else worst, worst, i)
            if best is None or key < best:
                best, chosen = key, (theta, loss, ubs, feasible)
        assert chosen is not None
        theta, loss, ubs, feasible = chosen
        return Candidate(np.asarray(theta, dtype=float), loss, ubs, feasible, len(family))

    def test(self, model: CertifiableModel, params: Any, safety_data: Data,
             constraints: Constraint | Sequence[Constraint], candidate: Candidate | None = None) -> SeldonianResult:
        """The safety test alone: certify ``params`` on held-out ``safety_data``.

        Use it directly to certify parameters chosen elsewhere (a threshold learnt by OFS, a
        classifier fitted on other data) — the data must not have been used to choose them.
        """
        cons = _as_constraints(constraints)
        _check_data(safety_data)
        n_s = _size(safety_data)
        theta = as_float_array(params, "params", "Seldonian.test")
        check_counts(_all_bases(cons), safety_data, _rows(safety_data), self.bound, "The safety set")
        predicted = candidate.predicted_upper_bounds if candidate is not None else (math.nan,) * len(cons)
        deltas = self.constraint_deltas(cons)

        def refuse(why: str) -> NoSolutionFound:
            # Nothing is bounded: every constraint fails with a NaN bound (fail closed).
            reports = tuple(BoundReport(c.name, c.threshold, math.nan, math.nan, p, d, c.n_events, False)
                            for c, d, p in zip(cons, deltas, predicted))
            return NoSolutionFound(f"{why}; failing closed", reports, reports, theta, candidate, 0, n_s)

        if not np.isfinite(theta).all():
            # e.g. a NaN threshold or weight: 1[x·w + b >= 0] maps NaN to 0, so a parity gap reads 0.
            return refuse(f"the parameters {theta.tolist()!r} are not all finite")
        pred = _predictions(model, theta, safety_data, "Seldonian.test")
        if not np.isfinite(pred).all():
            return refuse(f"{int((~np.isfinite(pred)).sum())} of {pred.size} model outputs are NaN or infinite")
        oracle = safety_oracle(pred, safety_data, self.bound)
        means = plug_in_means(pred, safety_data)
        reports = []
        for c, d, p in zip(cons, deltas, predicted):
            ub = c.upper_bound(oracle, d)
            passed = bool(not math.isnan(ub) and ub <= c.threshold)
            reports.append(BoundReport(c.name, c.threshold, float(c.expr.plug_in(means)), ub, p, d, c.n_events,
                                       passed))
        failed = tuple(r for r in reports if not r.passed)
        n_c = 0
        if not failed:
            return Certified(theta, tuple(reports), candidate, n_c, n_s, _trivial(pred, safety_data))
        reason = "; ".join(r.describe() for r in failed)
        return NoSolutionFound(reason, failed, tuple(reports), theta, candidate, n_c, n_s)

    # ------------------------------------------------------------------------------ internals
    def _search(self, model: CertifiableModel, data: Data, cons: list[Constraint], deltas: list[float],
                ratio: float, evaluate: Any) -> list[np.ndarray]:
        x0 = np.asarray(model.initial_params(data), dtype=float).ravel()

        if self.search == "slsqp":
            def pieces(theta: np.ndarray) -> np.ndarray:
                pred = np.asarray(model.predict(theta, data), dtype=float)
                oracle = predicted_oracle(pred, data, self.bound, ratio, self.inflation)
                vals = []
                for c, d in zip(cons, deltas):
                    vals += [c.threshold - p for p in c.pieces(oracle, d)]
                arr = np.asarray(vals, dtype=float)
                return np.nan_to_num(arr, nan=-_BARRIER, posinf=_BARRIER, neginf=-_BARRIER)

            res = optimize.minimize(lambda t: model.loss(t, data), x0, method="SLSQP",
                                    constraints=[{"type": "ineq", "fun": pieces}],
                                    options={"maxiter": self.max_iter})
        else:
            def barrier(theta: np.ndarray) -> float:
                loss, _, worst = evaluate(theta)
                if worst <= 0.0:
                    return loss
                return _BARRIER + (worst if math.isfinite(worst) else _BARRIER)

            method = "Powell" if self.search == "powell" else "Nelder-Mead"
            res = optimize.minimize(barrier, x0, method=method, options={"maxiter": self.max_iter})
        return [x0, np.asarray(res.x, dtype=float).ravel()]


# ---------------------------------------------------------------------------------- data helpers


def _predictions(model: CertifiableModel, theta: np.ndarray, data: Data, owner: str) -> np.ndarray:
    """The model's per-row outputs, checked to be one real number per row."""
    pred = as_float_array(model.predict(theta, data), f"output of {type(model).__name__}.predict", owner)
    rows = _rows(data)
    if pred.ndim == 0 or pred.shape[0] != rows:
        raise InputDataError(f"The 'output of {type(model).__name__}.predict' argument of {owner} must have "
                             f"{rows} rows, one output per data row. Got shape {pred.shape} instead.")
    return pred


def _trivial(pred: np.ndarray, data: Data) -> str | None:
    """``"approves everyone"`` / ``"approves nobody"`` when every counted output is 1 / 0, else None."""
    w = np.asarray(data[WEIGHT_KEY], dtype=float) if WEIGHT_KEY in data else np.ones(pred.shape[0])
    out = np.asarray(pred, dtype=float).reshape(pred.shape[0], -1)[w > 0]
    if out.size == 0:
        return None
    if np.all(out == 1.0):
        return "approves everyone"
    if np.all(out == 0.0):
        return "approves nobody"
    return None


def _as_constraints(constraints: Constraint | Sequence[Constraint]) -> list[Constraint]:
    cons = [constraints] if isinstance(constraints, Constraint) else list(constraints)
    if not cons or not all(isinstance(c, Constraint) for c in cons):
        raise InputDataError("Seldonian needs one or more Constraint objects.")
    return cons


def _all_bases(cons: list[Constraint]) -> list[Mean]:
    out: list[Mean] = []
    for c in cons:
        out += c.expr.bases()
    return out


def _check_data(data: Data) -> int:
    """Validate named arrays; return the number of rows."""
    if not isinstance(data, Mapping) or not data:
        raise InputDataError(f"Data must be a non-empty mapping of named arrays. Got {type(data).__name__}.")
    n: int | None = None
    for key, value in data.items():
        arr = as_column(value)
        if arr.ndim == 0:
            raise InputDataError(f"Data column {key!r} is a scalar; every column needs one entry per row.")
        if n is None:
            n = arr.shape[0]
        elif arr.shape[0] != n:
            raise InputDataError(f"Data column {key!r} has {arr.shape[0]} rows; others have {n}.")
        if arr.dtype.kind in "fc" and not np.isfinite(arr).all():
            raise InputDataError(f"Data column {key!r} contains NaN or infinite values; remove or impute them first.")
    if WEIGHT_KEY in data:
        w = as_float_array(data[WEIGHT_KEY], WEIGHT_KEY, "Seldonian")  # strings: our error, not numpy's
        if w.ndim != 1 or (w < 0).any() or not np.isfinite(w).all() or (w != np.round(w)).any():
            raise InputDataError(f"{WEIGHT_KEY!r} must be one column of non-negative integer frequency weights.")
    assert n is not None
    return n


def _check_split(total: int, n_s: int) -> None:
    if n_s < 1 or total - n_s < 1:
        raise InsufficientDataError(
            f"Seldonian needs samples in both the candidate and the safety set; {total} samples split into "
            f"{total - n_s} and {n_s}."
        )


def _rows(data: Data) -> int:
    return int(as_column(next(iter(data.values()))).shape[0])


def _size(data: Data) -> int:
    """Number of samples (sum of frequency weights, else rows)."""
    if WEIGHT_KEY in data:
        return int(np.asarray(data[WEIGHT_KEY]).sum())
    return _rows(data)


def _index(data: Data, idx: np.ndarray) -> dict[str, np.ndarray]:
    return {k: as_column(v)[idx] for k, v in data.items()}


def _take(data: Data, keep: np.ndarray, weights: np.ndarray) -> dict[str, np.ndarray]:
    out = _index(data, keep)
    out[WEIGHT_KEY] = weights[keep]
    return out

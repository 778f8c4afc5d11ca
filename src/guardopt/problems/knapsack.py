"""Two-stage robust knapsack instances and an exact evaluator by enumeration (small n).

The problem is the robust knapsack with repairs of Arslan & Detienne (2022, "Decomposition-based
approaches for a class of two-stage robust binary optimization problems", INFORMS J. Computing), in
the form used by Dumouchelle et al. (2024, "Neur2RO: Neural Two-Stage Robust Optimization", ICLR).
For items ``i = 1..n`` with weight ``c_i``, nominal profit ``p̄_i``, profit degradation ``p̂_i``,
outsourcing penalty ``f_i`` and repair weight ``t_i``, and a capacity ``C``:

    min_{x ∈ {0,1}^n}  max_{ξ ∈ Ξ}  (f − p̄)·x + Q(x, ξ),
    Q(x, ξ) = min_{y, r ∈ {0,1}^n}  Σ_i (p̂_i ξ_i − f_i) y_i − p̂_i ξ_i r_i
              s.t.  Σ_i c_i y_i + t_i r_i ≤ C,  r ≤ y ≤ x,
    Ξ = {ξ ∈ [0, 1]^n : Σ_i ξ_i ≤ Γ}.

Reading: ``x_i = 1`` commits to item i (a cost); once ξ is known, a committed item is packed
(``y_i = 1``, profit ``p̄_i − p̂_i ξ_i``), packed and repaired (``r_i = 1``, full profit, extra
weight ``t_i``) or outsourced (``y_i = 0``, penalty ``f_i > p̄_i``). Values are costs (lower is
better); the paper reports profits, the negatives of these.

Exactness at small n comes from enumeration: the ``3^n`` second-stage patterns (per item: not
packed, packed, packed and repaired) are listed once, so

- `KnapsackInstance.second_stage_value` is a masked minimum over patterns;
- `KnapsackInstance.first_stage_values` gives the total cost of *every* ``x`` at a scenario in
  ``O(3^n n)`` with a subset-minimum transform over the ``2^n`` pattern supports;
- `KnapsackInstance.worst_case` solves ``max_ξ min_k (a_k·ξ + b_k)`` over the patterns compatible
  with ``x`` exactly, by a cutting-plane linear program (scipy's HiGHS) whose separation step is the
  enumeration;
- `exact_robust_solution` is column-and-constraint generation with an enumerated (hence exact)
  master: the reference optimum of an instance.

The instance generator follows the published procedure (Neur2RO's ``sample_new_inst``, after
Arslan & Detienne): ``c ~ U(1, R)``, ``C = h/(H+1)·Σc``, ``p̄`` by correlation type (UN, WC, ASC,
SC), ``p̂ = p̄·U((1−δ)/2, (1+δ)/2)``, ``f = p̄·U(1.1, 1.5)``, ``t`` by correlation type, and
``Γ = budget_factor·n``; ``R = 1000``, ``H = 100``.

Example:
    >>> inst = sample_instance(6, correlation="UN", seed=0)
    >>> x = np.ones(6)
    >>> round(float(inst.second_stage_value(x, np.zeros(6))[0]), 6) <= 0.0
    True
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_choice, check_int

__all__ = [
    "CORRELATIONS",
    "MAX_ENUMERATION_ITEMS",
    "ExactRobustSolution",
    "KnapsackInstance",
    "WorstCase",
    "exact_robust_solution",
    "knapsack_patterns",
    "sample_instance",
]

CORRELATIONS = ("UN", "WC", "ASC", "SC")
"""The four profit/weight correlation types of the generator."""

MAX_ENUMERATION_ITEMS = 12
"""Largest n the enumerating evaluator accepts (3^12 = 531,441 patterns)."""

_FEATURES = 7


@functools.lru_cache(maxsize=16)
def knapsack_patterns(n: int) -> np.ndarray:
    """Every second-stage pattern for ``n`` items: shape ``(3^n, n)``, entries 0 (out), 1 (packed), 2 (repaired).

    Pattern ``k`` has ``y = (P[k] >= 1)`` and ``r = (P[k] == 2)``. The returned array is read-only.
    """
    n = check_int(n, "n", "knapsack_patterns", 0, MAX_ENUMERATION_ITEMS)
    idx = np.arange(3**n)
    pats = np.empty((3**n, n), dtype=np.int8)
    for i in range(n):
        pats[:, i] = (idx // 3**i) % 3
    pats.setflags(write=False)
    return pats


def _bits(n: int) -> np.ndarray:
    """All ``2^n`` first-stage decisions, row ``j`` is the binary expansion of ``j`` (bit i = item i)."""
    j = np.arange(2**n)
    return ((j[:, None] >> np.arange(n)[None, :]) & 1).astype(float)


@dataclass(frozen=True)
class WorstCase:
    """The exact worst case of a first-stage decision.

    Attributes:
        value: ``max_ξ (f − p̄)·x + Q(x, ξ)``, the worst-case total cost.
        xi: A maximizing scenario, shape ``(n,)``.
        cuts: How many patterns the cutting-plane LP needed.
    """

    value: float
    xi: np.ndarray
    cuts: int


@dataclass(frozen=True)
class KnapsackInstance:
    """One two-stage robust knapsack instance (arrays of shape ``(n,)``).

    Attributes:
        c: Item weights. p_bar: nominal profits. p_hat: profit degradations. f: outsourcing
        penalties. t: repair weights. capacity: the knapsack capacity C. budget: Γ, the bound on Σξ.
        meta: How the instance was generated (correlation, δ, h, budget factor, seed).
    """

    c: np.ndarray
    p_bar: np.ndarray
    p_hat: np.ndarray
    f: np.ndarray
    t: np.ndarray
    capacity: float
    budget: float
    meta: dict[str, Any] = field(default_factory=dict, compare=False)

    def __post_init__(self) -> None:
        owner = "KnapsackInstance"
        arrays = {}
        for name in ("c", "p_bar", "p_hat", "f", "t"):
            a = as_float_array(getattr(self, name), name, owner, finite=True)
            if a.ndim != 1 or a.size < 1:
                raise InputDataError(f"The {name!r} argument of {owner} must be a non-empty 1-D array. "
                                     f"Got shape {a.shape} instead.")
            arrays[name] = a
        n = arrays["c"].size
        for name, a in arrays.items():
            if a.size != n:
                raise InputDataError(f"The {name!r} argument of {owner} must have {n} entries (as 'c'). "
                                     f"Got {a.size} instead.")
            if name != "p_hat" and np.any(a <= 0):
                raise InvalidParameterError(name, owner, "positive", a.tolist())
        if np.any(arrays["p_hat"] < 0):
            raise InvalidParameterError("p_hat", owner, "non-negative", arrays["p_hat"].tolist())
        if n > MAX_ENUMERATION_ITEMS:
            raise InvalidParameterError("c", owner, f"at most {MAX_ENUMERATION_ITEMS} items (exact enumeration)", n)
        for name in ("capacity", "budget"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float, np.floating, np.integer)) or not math.isfinite(v) \
                    or v < 0:
                raise InvalidParameterError(name, owner, "a finite non-negative number", v)
        for name, a in arrays.items():
            a.setflags(write=False)
            object.__setattr__(self, name, a)
        object.__setattr__(self, "capacity", float(self.capacity))
        object.__setattr__(self, "budget", float(self.budget))

    # ---------------------------------------------------------------------------------- basics

    @property
    def n(self) -> int:
        """The number of items."""
        return int(self.c.size)

    @property
    def first_stage_cost(self) -> np.ndarray:
        """Linear first-stage cost ``f − p̄`` (shape ``(n,)``; positive: committing costs)."""
        return self.f - self.p_bar

    @property
    def value_scale(self) -> float:
        """A natural scale of the objective, ``Σ p̄`` (used to normalize learned values)."""
        return float(self.p_bar.sum())

    @property
    def features(self) -> np.ndarray:
        """Per-item features for a learned value function, shape ``(n, 7)``.

        Columns: c, p̄, p̂, f, t (divided by the generator's range R = 1000, or by max c when the
        instance has no meta), C/Σc and Γ/n (both repeated per item).
        """
        r = float(self.meta.get("R", max(float(self.c.max()), 1.0)))
        per_item = np.stack([self.c, self.p_bar, self.p_hat, self.f, self.t], axis=1) / r
        glob = np.array([self.capacity / float(self.c.sum()), self.budget / self.n])
        return np.concatenate([per_item, np.broadcast_to(glob, (self.n, 2))], axis=1)

    def _pattern_data(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """``(A, b, feasible, support_id, y)``: pattern k costs ``A[k]·ξ + b[k]`` when feasible."""
        cached = self.__dict__.get("_patterns_cache")
        if cached is None:
            pats = knapsack_patterns(self.n)
            y = pats >= 1
            r = pats == 2
            weight = y @ self.c + r @ self.t
            feasible = weight <= self.capacity + 1e-9
            a = (y & ~r) * self.p_hat[None, :]
            b = -(y @ self.f)
            support = (y.astype(np.int64) << np.arange(self.n)[None, :]).sum(axis=1)
            cached = (a, b, feasible, support, y)
            object.__setattr__(self, "_patterns_cache", cached)
        return cached

    def _check_x(self, x: Any, owner: str) -> np.ndarray:
        arr = as_float_array(x, "x", owner, finite=True)
        arr = np.atleast_2d(arr)
        if arr.ndim != 2 or arr.shape[1] != self.n:
            raise InputDataError(f"The 'x' argument of {owner} must have shape (n,) or (m, n) with n = {self.n}. "
                                 f"Got shape {np.shape(x)} instead.")
        if not np.all((arr == 0) | (arr == 1)):
            raise InputDataError(f"The 'x' argument of {owner} must be binary (0 or 1 entries).")
        return arr

    def check_xi(self, xi: Any, owner: str, tol: float = 1e-6) -> np.ndarray:
        """``ξ`` as an ``(m, n)`` float array, or `InputDataError` when it leaves Ξ (by more than ``tol``)."""
        arr = np.atleast_2d(as_float_array(xi, "xi", owner, finite=True))
        if arr.ndim != 2 or arr.shape[1] != self.n:
            raise InputDataError(f"The 'xi' argument of {owner} must have shape (n,) or (m, n) with n = {self.n}. "
                                 f"Got shape {np.shape(xi)} instead.")
        if np.any(arr < -tol) or np.any(arr > 1 + tol) or np.any(arr.sum(axis=1) > self.budget + tol * self.n):
            raise InputDataError(f"The 'xi' argument of {owner} must lie in the uncertainty set "
                                 f"{{xi in [0, 1]^n : sum(xi) <= {self.budget:g}}}.")
        return np.clip(arr, 0.0, 1.0)

    # ---------------------------------------------------------------------------------- values

    def second_stage_value(self, x: Any, xi: Any) -> np.ndarray:
        """Exact second-stage value ``Q(x, ξ)`` by enumeration.

        Args:
            x: Binary first-stage decisions, shape ``(n,)`` or ``(m, n)``.
            xi: Scenarios in Ξ, shape ``(n,)`` or ``(m, n)`` (broadcast against ``x``).

        Returns:
            Shape ``(m,)``: the optimal second-stage cost (at most 0: outsourcing nothing is free).
        """
        owner = "KnapsackInstance.second_stage_value"
        xs = self._check_x(x, owner)
        xis = self.check_xi(xi, owner)
        if xs.shape[0] != xis.shape[0] and 1 not in (xs.shape[0], xis.shape[0]):
            raise InputDataError(f"The 'xi' argument of {owner} must have as many rows as 'x' ({xs.shape[0]}) or "
                                 f"one. Got {xis.shape[0]} instead.")
        m = max(xs.shape[0], xis.shape[0])
        xs = np.broadcast_to(xs, (m, self.n))
        xis = np.broadcast_to(xis, (m, self.n))
        a, b, feasible, _, y = self._pattern_data()
        out = np.empty(m)
        # Rows that share a decision share the allowed patterns: feasible ones packing only
        # committed items (y <= x).
        uniq, inverse = np.unique(xs, axis=0, return_inverse=True)
        inverse = np.asarray(inverse).reshape(-1)
        for u in range(uniq.shape[0]):
            rows = np.flatnonzero(inverse == u)
            ok = feasible & ~np.any(y & (uniq[u] < 0.5)[None, :], axis=1)
            out[rows] = np.min(xis[rows] @ a[ok].T + b[ok][None, :], axis=1)
        return out

    def first_stage_values(self, xi: Any) -> np.ndarray:
        """Total cost ``(f − p̄)·x + Q(x, ξ)`` of every first-stage decision at each scenario.

        Args:
            xi: Scenarios, shape ``(n,)`` or ``(s, n)``.

        Returns:
            Shape ``(s, 2^n)``; column ``j`` is the decision whose bit ``i`` is ``x_i``
            (see `first_stage_decisions`).
        """
        xis = self.check_xi(xi, "KnapsackInstance.first_stage_values")
        cached = self.__dict__.get("_grouped_cache")
        if cached is None:
            a, b, feasible, support, _ = self._pattern_data()
            # Feasible patterns sorted by support (the set of packed items), with group starts.
            keep = np.flatnonzero(feasible)
            order = keep[np.argsort(support[keep], kind="stable")]
            starts = np.searchsorted(support[order], np.arange(2**self.n))
            present = np.isin(np.arange(2**self.n), support[order])
            # A sentinel column (+inf) at the end lets an empty last group start past the real ones.
            a_t = np.ascontiguousarray(np.vstack([a[order], np.zeros((1, self.n))]).T)
            cached = (a_t, np.append(b[order], np.inf), starts, present)
            object.__setattr__(self, "_grouped_cache", cached)
        a_t, b_s, starts, present = cached
        # Minimum per support (patterns packing exactly the same items), then a subset-minimum
        # transform: Q(x) = min over supports S ⊆ x. Pattern "nothing packed" (support 0) costs 0.
        g = np.minimum.reduceat(xis @ a_t + b_s[None, :], starts, axis=1)
        g[:, ~present] = np.inf  # a support with no feasible pattern
        for i in range(self.n):
            h = g.reshape(xis.shape[0], 2 ** (self.n - 1 - i), 2, 2**i)
            np.minimum(h[:, :, 1, :], h[:, :, 0, :], out=h[:, :, 1, :])
        return g + (self.first_stage_decisions() @ self.first_stage_cost)[None, :]

    def first_stage_decisions(self) -> np.ndarray:
        """All ``2^n`` binary decisions, shape ``(2^n, n)``, in the column order of `first_stage_values`."""
        return _bits(self.n)

    def worst_case(self, x: Any, tol: float = 1e-9) -> WorstCase:
        """Exact worst case ``max_{ξ ∈ Ξ} (f − p̄)·x + Q(x, ξ)`` of one decision.

        ``Q(x, ·)`` is the minimum of finitely many affine functions (one per compatible pattern), so
        the worst case is the linear program ``max z s.t. z ≤ a_k·ξ + b_k, ξ ∈ Ξ``. It is solved by
        cutting planes: the LP over the patterns found so far gives an upper bound ``z*`` at ``ξ*``;
        enumeration gives ``Q(x, ξ*)`` and its best pattern; the pattern is added until the two
        agree within ``tol`` (relative).

        Args:
            x: One binary decision, shape ``(n,)``.
        """
        from scipy.optimize import linprog

        owner = "KnapsackInstance.worst_case"
        xs = self._check_x(x, owner)
        if xs.shape[0] != 1:
            raise InputDataError(f"The 'x' argument of {owner} must be one decision of shape (n,). "
                                 f"Got shape {np.shape(x)} instead.")
        xv = xs[0]
        a, b, feasible, _, y = self._pattern_data()
        ok = feasible & ~np.any(y & (xv < 0.5)[None, :], axis=1)
        a_ok, b_ok = a[ok], b[ok]
        fs = float(self.first_stage_cost @ xv)
        n = self.n
        # Variables (ξ_1..ξ_n, z); maximize z. Start with the empty pattern (z <= 0) and the best
        # pattern at ξ = 0.
        cuts = [int(np.argmin(b_ok))]
        zero_k = int(np.flatnonzero((a_ok == 0).all(axis=1) & (b_ok == 0.0))[0])
        if zero_k not in cuts:
            cuts.append(zero_k)
        obj = np.zeros(n + 1)
        obj[-1] = -1.0
        budget_row = np.concatenate([np.ones(n), [0.0]])
        bounds = [(0.0, 1.0)] * n + [(None, None)]
        scale = max(1.0, float(np.abs(b_ok).max()), float(np.abs(a_ok).sum(axis=1).max()))
        for _ in range(a_ok.shape[0] + 1):
            a_ub = np.vstack([np.hstack([-a_ok[cuts], np.ones((len(cuts), 1))]), budget_row])
            b_ub = np.concatenate([b_ok[cuts], [self.budget]])
            res = linprog(obj, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs")
            if res.status != 0:  # pragma: no cover - the LP is bounded and feasible by construction
                raise InputDataError(f"{owner}: the worst-case LP failed ({res.message}).")
            xi = np.clip(res.x[:n], 0.0, 1.0)
            z = float(res.x[n])
            vals = a_ok @ xi + b_ok
            k = int(np.argmin(vals))
            if vals[k] >= z - tol * scale:
                return WorstCase(fs + float(vals[k]), xi, len(cuts))
            cuts.append(k)
        raise AssertionError("cutting planes did not terminate")  # pragma: no cover - finitely many patterns


# --------------------------------------------------------------------------------------- solving


@dataclass(frozen=True)
class ExactRobustSolution:
    """The exact robust optimum of an instance.

    Attributes:
        x: An optimal decision, shape ``(n,)``.
        value: Its worst-case total cost (the optimal value).
        scenarios: The scenarios the enumerated master needed, shape ``(k, n)``.
        iterations: Master/adversary rounds.
    """

    x: np.ndarray
    value: float
    scenarios: np.ndarray
    iterations: int


def exact_robust_solution(inst: KnapsackInstance, tol: float = 1e-9) -> ExactRobustSolution:
    """Exact ``min_x max_ξ`` by column-and-constraint generation with an enumerated master.

    The master ``min_x max_{ξ ∈ S} V(x, ξ)`` is solved exactly over all ``2^n`` decisions
    (`KnapsackInstance.first_stage_values`), so it is a lower bound; the exact worst case of its
    decision is an upper bound; a decision that repeats closes the gap, so the loop ends after at most
    ``2^n`` rounds (a handful in practice).
    """
    if not isinstance(inst, KnapsackInstance):
        raise InvalidParameterError("inst", "exact_robust_solution", "a KnapsackInstance", type(inst).__name__)
    decisions = inst.first_stage_decisions()
    scenarios = [np.zeros(inst.n)]
    best_x, best_ub = decisions[0], math.inf
    lb_values = inst.first_stage_values(scenarios[0])[0]
    for it in range(1, 2**inst.n + 2):
        j = int(np.argmin(lb_values))
        lb = float(lb_values[j])
        wc = inst.worst_case(decisions[j])
        if wc.value < best_ub:
            best_x, best_ub = decisions[j], wc.value
        if best_ub - lb <= tol * max(1.0, abs(best_ub)):
            return ExactRobustSolution(best_x.copy(), best_ub, np.array(scenarios), it)
        scenarios.append(wc.xi)
        lb_values = np.maximum(lb_values, inst.first_stage_values(wc.xi)[0])
    raise AssertionError("exact CCG did not terminate")  # pragma: no cover


# --------------------------------------------------------------------------------------- sampling


def sample_instance(n: int, correlation: str = "UN", delta: float = 0.5, h: int = 80, budget_factor: float = 0.2,
                    seed: int | np.random.Generator | None = 0, R: float = 1000.0, H: float = 100.0,
                    ) -> KnapsackInstance:
    """Draw an instance with the published generator (Arslan & Detienne; Neur2RO's knapsack).

    Args:
        n: Number of items (at most `MAX_ENUMERATION_ITEMS` for the exact evaluator).
        correlation: ``"UN"``, ``"WC"``, ``"ASC"`` or ``"SC"``.
        delta: Degradation spread δ (the paper uses 0.1, 0.5, 1).
        h: Capacity factor (40 or 80): ``C = h/(H+1)·Σc``.
        budget_factor: ``Γ = budget_factor·n`` (the paper uses 0.1, 0.15, 0.2).
        seed: Seed or generator.
        R, H: The generator's range and capacity constants (1000 and 100).
    """
    owner = "sample_instance"
    n = check_int(n, "n", owner, 1, MAX_ENUMERATION_ITEMS)
    check_choice(correlation, "correlation", owner, CORRELATIONS)
    for name, v in (("delta", delta), ("h", h), ("budget_factor", budget_factor), ("R", R), ("H", H)):
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
            raise InvalidParameterError(name, owner, "a finite positive number", v)
    if delta > 1:
        raise InvalidParameterError("delta", owner, "in (0, 1]", delta)
    if R <= 2:
        raise InvalidParameterError("R", owner, "above 2", R)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    c = rng.uniform(1.0, R, size=n)
    capacity = h / (H + 1.0) * float(c.sum())
    if correlation == "UN":
        p_bar = rng.uniform(1.0, R, size=n)
    elif correlation == "WC":
        p_bar = rng.uniform(c - R / 20, c + R / 20)
    elif correlation == "ASC":
        p_bar = rng.uniform(c + R / 10 - R / 1000, c + R / 10 + R / 1000)
    else:
        p_bar = c + R / 10
    p_bar = np.maximum(p_bar, 1e-6)  # WC can dip below zero for light items
    p_hat = p_bar * rng.uniform((1 - delta) / 2, (1 + delta) / 2, size=n)
    f = p_bar * rng.uniform(1.1, 1.5, size=n)
    if correlation == "UN":
        t = rng.uniform(1.0, c)
    elif correlation == "WC":
        t = rng.uniform(0.5 * p_hat - R / 40, 0.5 * p_hat + R / 40)
    elif correlation == "ASC":
        t = rng.uniform(0.5 * p_hat + c / 10 - R / 1000, 0.5 * p_hat + c / 10 + R / 1000)
    else:
        t = 0.5 * p_hat + c / 10
    t = np.maximum(t, 1e-6)  # WC can give a negative repair weight
    meta = {"correlation": correlation, "delta": float(delta), "h": float(h), "budget_factor": float(budget_factor),
            "R": float(R), "H": float(H), "seed": seed if isinstance(seed, int) else None}
    return KnapsackInstance(c, p_bar, p_hat, f, t, capacity, budget_factor * n, meta)

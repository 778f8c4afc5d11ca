"""ChebCB: a contextual bandit for a scalar context, with Chebyshev regression per arm.

SquareCB-style inverse-gap weighting over a regression oracle (Foster & Rakhlin, 2020), where the
oracle fits each arm's cost as a function of a scalar context ``x ∈ [a, b]`` with a degree ``m - 1``
Chebyshev expansion (Khodak et al., 2024, §4):

* features ``φ(x) = (T_0(u), ..., T_{m-1}(u))`` with ``u = 2 (x - a) / (b - a) - 1``;
* per arm, least squares of the normalized costs on the features of the rounds it was played, with
  box constraints on the coefficients (the bound that the Chebyshev coefficients of a Lipschitz
  function decay like ``1/j``); the unconstrained (minimum-norm) solution is used when it is inside
  the box, a bounded-variable least-squares solve (`box_least_squares`, an active-set method) otherwise;
* with predictions ``ŷ_i = θ_i · φ(x)`` and leader ``i* = argmin ŷ``, play

      p_i = 1 / (K + γ_t (ŷ_i - ŷ_{i*})) for i ≠ i*,   p_{i*} = 1 - Σ_{i ≠ i*} p_i,

  with ``γ_t`` growing roughly linearly in ``t`` (see `ChebCB.gamma`).

Costs are normalized as in the authors' code: with ``K_max`` the largest cost seen and ``Λ`` the
empirical Lipschitz constant ``(max - min) / (b - a)``, the scale is ``s = K_max · N`` with
``N = 2 + 4 (b - a) Λ / K_max · (1 + log m)``; the coefficient box is ``|θ_0| ≤ 1/N`` and
``|θ_j| ≤ 2 (b - a) Λ / (s j)``. Sufficient statistics (``Σ φ φᵀ`` and ``Σ φ ℓ`` per arm) make each
update ``O(m²)`` plus one small solve. Once an arm has ``2m`` rounds its Gram matrix is treated as
nonsingular and its fit is first tried on the bounds that were active at its previous fit (kept only
if the KKT conditions verify), then unconstrained, then by the general active-set method: the
constrained minimizer is unique, so the order changes the cost, not the answer.

Performance: at K ≈ 20 and m = 6 the cost of a round is the number of interpreter and numpy calls,
not arithmetic, so small vectors are handled as Python lists, LAPACK is called directly (``dgesv``,
``dgelsd``: the routines behind `numpy.linalg.solve` / ``lstsq``, without their wrappers), and
`update` reuses the features and prediction of the preceding `sample`.

References:
    D. Foster, A. Rakhlin. "Beyond UCB: Optimal and Efficient Contextual Bandits with Regression
    Oracles." ICML 2020.
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. "Learning to Relax." ICLR 2024, arXiv:2310.02246.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

import numpy as np
from scipy.linalg.lapack import dgelsd as _dgelsd
from scipy.linalg.lapack import dgelsd_lwork as _dgelsd_lwork
from scipy.linalg.lapack import dgesv as _dgesv

from guardopt.core.errors import InputDataError, InvalidParameterError, check_in_range, check_int, to_float
from guardopt.core.seeding import SeedLike, make_rng

__all__ = ["ChebCB", "ChebCBConfig", "box_least_squares", "chebyshev_features"]


def chebyshev_features(u: float, m: int) -> np.ndarray:
    """``(T_0(u), ..., T_{m-1}(u))`` by the three-term recurrence, shape ``(m,)``; ``u`` in ``[-1, 1]``."""
    x = check_in_range(u, "u", "chebyshev_features", -1.0, 1.0, low_open=False, high_open=False)
    # An upper limit: the recurrence runs m steps, and a mistyped m (2**70) would never return.
    return np.array(_chebyshev_list(x, check_int(m, "m", "chebyshev_features", low=0, high=10_000)), dtype=float)


def _chebyshev_list(u: float, m: int) -> list[float]:
    # The recurrence T_j = 2u T_{j-1} - T_{j-2} on Python floats: for m ≈ 6 this is cheaper than any
    # numpy call, and it is the same arithmetic as numpy's chebvander.
    out = [1.0, u][:m]
    for j in range(2, m):
        out.append(2.0 * u * out[j - 1] - out[j - 2])
    return out


def _solve_square(a: np.ndarray, b: np.ndarray) -> np.ndarray | None:
    """``a⁻¹ b`` by LU with partial pivoting (LAPACK ``dgesv``), or None when ``a`` is singular.

    The same factorization as `numpy.linalg.solve` without its per-call overhead (several µs at 6×6,
    which dominated ChebCB's update); results agree to rounding.
    """
    x, info = _dgesv(a, b)[2:]
    return x if info == 0 else None


_DGELSD_WORK: dict[int, tuple[int, int]] = {}


def _min_norm_solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Minimum-norm least-squares solution of ``a x = b`` for square ``a`` (shape ``(n, n)``, ``b`` ``(n,)``).

    `numpy.linalg.lstsq(a, b, rcond=None)` — the same LAPACK routine (``dgelsd``, SVD-based) with the
    same cutoff ``eps · n`` — called directly, with its workspace sizes cached: several times
    cheaper at 6×6, where numpy's wrapper dominates.
    """
    n = a.shape[0]
    sizes = _DGELSD_WORK.get(n)
    if sizes is None:
        work, iwork, info = _dgelsd_lwork(n, n, 1)
        if info != 0:
            return np.linalg.lstsq(a, b, rcond=None)[0]
        sizes = _DGELSD_WORK[n] = (int(work), int(iwork))
    x, _, _, info = _dgelsd(a, b[:, None], sizes[0], sizes[1], np.finfo(float).eps * n)
    if info != 0:
        return np.linalg.lstsq(a, b, rcond=None)[0]
    return x[:, 0]


@dataclass(frozen=True)
class ChebCBConfig:
    """Configuration of `ChebCB`.

    Attributes:
        n_arms: Number of arms ``K``.
        context_low, context_high: The context interval ``[a, b]``; contexts outside it are clipped.
        n_features: Number ``m`` of Chebyshev polynomials ``T_0..T_{m-1}`` (the paper uses 6).
        loss_offset: Subtracted from every cost (the smallest possible cost: 1 for iteration counts).
        exploration: Multiplies the inverse-gap weight ``γ_t`` (1 = the paper's schedule; larger
            exploits more).
        seed: Seed of the sampling stream.
    """

    n_arms: int
    context_low: float
    context_high: float
    n_features: int = 6
    loss_offset: float = 0.0
    exploration: float = 1.0
    seed: int | None = None

    def __post_init__(self) -> None:
        check_int(self.n_arms, "n_arms", "ChebCBConfig", low=1)
        low = check_in_range(self.context_low, "context_low", "ChebCBConfig")
        high = check_in_range(self.context_high, "context_high", "ChebCBConfig")
        if not high > low:
            raise InvalidParameterError("context_high", "ChebCBConfig", f"greater than context_low={low!r}", high)
        check_int(self.n_features, "n_features", "ChebCBConfig", low=1, high=1000)  # m x m Gram matrices per arm
        check_in_range(self.loss_offset, "loss_offset", "ChebCBConfig")
        check_in_range(self.exploration, "exploration", "ChebCBConfig", 0.0)


class ChebCB:
    """Contextual bandit: `sample(context)` an arm, then `update` with the cost it incurred.

    Example:
        >>> cb = ChebCB(ChebCBConfig(n_arms=3, context_low=0.0, context_high=1.0, seed=0))
        >>> arm = cb.sample(0.3)
        >>> cb.update(arm, loss=2.0)
        >>> cb.probabilities(0.3).shape
        (3,)
    """

    def __init__(self, config: ChebCBConfig, rng: SeedLike = None) -> None:
        if not isinstance(config, ChebCBConfig):
            raise InvalidParameterError("config", "ChebCB", "a ChebCBConfig", config)
        self.config = config
        k, m = config.n_arms, config.n_features
        self._rng = make_rng(config.seed if rng is None else rng)
        self._width = config.context_high - config.context_low
        self.theta = np.zeros((k, m))  # coefficients, in normalized cost units
        # Per arm: Σ φ φᵀ and Σ φ (ℓ - offset) (raw units) over the rounds it was played. Lists of
        # arrays, so that reaching one arm's statistics is a list lookup rather than a numpy view.
        self._gram = [np.zeros((m, m)) for _ in range(k)]
        self._moment = [np.zeros(m) for _ in range(k)]
        self._count = [0] * k
        self._t = 1
        self._gamma = 0.0
        self._scale = 0.0
        self._n_factor = 2.0
        self._lipschitz = 0.0
        self._upper = np.zeros(m)  # the coefficient box |θ_j| ≤ upper_j (changes only with the scale)
        self._upper_list = [0.0] * m
        self._loss_max = -math.inf
        self._loss_min = math.inf
        # Running sums for the oracle's cumulative squared error Σ (ŷ_s - ℓ_s / s)², in O(1).
        self._sum_pred2 = 0.0
        self._sum_pred_loss = 0.0
        self._sum_loss2 = 0.0
        # (features, arm, prediction, context) of the last `sample`, for the `update` that follows it.
        self._pending: tuple[np.ndarray, int, float, float] | None = None
        # Config fields read every round, as plain attributes (the per-round cost is interpreter and
        # numpy-call overhead, not arithmetic).
        self._k, self._m = k, m
        self._low = config.context_low
        self._offset = config.loss_offset
        self._log_m = math.log(m)
        self._scalar = np.empty(())  # 0-d operand: numpy takes it faster than a Python float
        self._alpha_const = (math.pi + 2.0 / math.pi * math.log(2.0 * m + 1.0)) / (2.0 * (m + 1))

    @property
    def t(self) -> int:
        """Index of the current round (1 before the first update)."""
        return self._t

    @property
    def gamma(self) -> float:
        """The current inverse-gap weight ``γ_t``.

        ``γ_t = 2 t · sqrt(K t / (R_t + 2 α² t))`` where ``R_t`` is the oracle's cumulative squared
        prediction error on the played arms and ``α`` bounds the degree-``m-1`` Chebyshev approximation
        error of a Lipschitz cost, ``α = (π + (2/π) log(2m + 1)) (b - a) Λ / (2 s (m + 1))``
        (the schedule of the authors' code), times `ChebCBConfig.exploration`.
        """
        return self._gamma

    def features(self, context: float) -> np.ndarray:
        """Chebyshev features of a context, shape ``(m,)``."""
        return np.array(self._feature_list(context))

    def _feature_list(self, context: float) -> list[float]:
        x = to_float(context)
        if not math.isfinite(x) or isinstance(context, bool):
            raise InputDataError(f"The 'context' of ChebCB must be a finite number. Got {context!r} instead.")
        u = 2.0 * (x - self._low) / self._width - 1.0
        return _chebyshev_list(min(max(u, -1.0), 1.0), self._m)

    def predictions(self, context: float) -> np.ndarray:
        """Predicted normalized costs of every arm at a context, shape ``(K,)``."""
        return self.theta @ self.features(context)

    def _probability_list(self, yhat: np.ndarray) -> tuple[list[float], list[float]]:
        """Inverse-gap weighting of predictions ``yhat`` (shape ``(K,)``): (probabilities, ``yhat``) as lists."""
        # On Python floats: for K ≈ 20 a list comprehension is cheaper than the four numpy calls of
        # the vectorized form, with the same arithmetic per element.
        values = yhat.tolist()
        lead_value = min(values)
        best = values.index(lead_value)  # the first minimizer, as numpy's argmin
        gamma, k = self._gamma, float(self._k)
        probs = [1.0 / (k + gamma * (v - lead_value)) for v in values]
        probs[best] = 0.0
        rest = sum(probs)
        lead = 1.0 - rest
        if lead > 0.0:
            probs[best] = lead  # the probabilities sum to 1 up to rounding
        else:
            # Only with γ ≈ 0 and rounding: the other arms already take everything.
            probs = [q / rest for q in probs]
        return probs, values

    def _distribution(self, yhat: np.ndarray) -> np.ndarray:
        return np.array(self._probability_list(yhat)[0])

    def probabilities(self, context: float) -> np.ndarray:
        """The inverse-gap-weighted distribution over arms at a context, shape ``(K,)``."""
        return self._distribution(self.predictions(context))

    def sample(self, context: float) -> int:
        """Draw an arm for a context (remembered for the next `update`)."""
        phi = np.array(self._feature_list(context))
        yhat = self.theta @ phi
        probs, values = self._probability_list(yhat)
        # Inverse-CDF sampling: the first arm whose cumulative probability exceeds u (running sums
        # formed left to right); rounding can leave u above the last one.
        arm = bisect_right(list(accumulate(probs)), self._rng.random())
        if arm == self._k:
            arm -= 1
        self._pending = (phi, arm, values[arm], float(context))
        return arm

    def update(self, arm: int, loss: float, context: float | None = None) -> None:
        """Feed back the cost of the arm played this round.

        Args:
            arm: The arm played.
            loss: Its cost (finite).
            context: The round's context; defaults to the one of the last `sample` (required when
                the arm was not drawn by `sample`, e.g. when replaying a log).
        """
        cfg = self.config
        if type(arm) is not int or not 0 <= arm < self._k:
            arm = check_int(arm, "arm", "ChebCB.update", low=0, high=self._k - 1)
        if isinstance(loss, bool) or not math.isfinite(to_float(loss)):
            raise InputDataError(f"The 'loss' argument of ChebCB.update must be a finite number. Got {loss!r} "
                                 "instead.")
        pending = self._pending
        if pending is not None and pending[1] == arm and (context is None or context == pending[3]):
            # The round drawn by `sample`: reuse its features and prediction.
            phi, _, pred, _ = pending
        elif context is not None:
            phi = self.features(context)
            pred = float(self.theta[arm] @ phi)
        else:
            raise InputDataError("ChebCB.update needs the context of a round that was not drawn by sample().")
        self._pending = None
        raw = float(loss)
        shifted = raw - self._offset

        # Normalization (authors' schedule): it changes only when a new extreme cost is seen.
        rescaled = False
        if raw > self._loss_max or raw < self._loss_min or self._t == 1:
            loss_max, loss_min = max(self._loss_max, raw), min(self._loss_min, raw)
            k_max = max(loss_max - self._offset, 1e-300)
            lip = (loss_max - loss_min) / self._width
            n_factor = 2.0 + 4.0 * self._width * lip / k_max * (1.0 + self._log_m)
            scale = k_max * n_factor
            if not (math.isfinite(scale * scale) and scale * scale > 0.0):
                # Checked before any state changes: costs spanning the float64 range (or far below
                # loss_offset) leave no representable normalization, and the learner would turn NaN.
                self._pending = pending
                raise InputDataError(f"The 'loss' argument of ChebCB.update ({loss!r}) makes the costs' range "
                                     "overflow float64; rescale the costs or set loss_offset to their minimum.")
            self._loss_max, self._loss_min = loss_max, loss_min
            rescaled = scale != self._scale
            self._scale, self._n_factor, self._lipschitz = scale, n_factor, lip
            if rescaled:
                m = self._m
                upper = np.empty(m)
                upper[0] = 1.0 / n_factor
                upper[1:] = 2.0 * self._width * lip / scale / np.arange(1, m)
                self._upper, self._upper_list = upper, upper.tolist()
        scale = self._scale

        gram = self._gram[arm]
        gram += np.multiply.outer(phi, phi)
        moment = self._moment[arm]
        c = self._scalar
        c[()] = shifted
        moment += phi * c
        self._count[arm] += 1
        if rescaled:
            for i in range(self._k):
                if self._count[i]:
                    self.theta[i] = self._fit(i)
        else:
            self.theta[arm] = self._fit(arm)

        # γ_t from the oracle's squared error so far (predictions were made in the units of their time).
        self._sum_pred2 += pred * pred
        self._sum_pred_loss += pred * shifted
        self._sum_loss2 += shifted * shifted
        err = self._sum_pred2 - 2.0 * self._sum_pred_loss / scale + self._sum_loss2 / scale**2
        alpha = self._alpha_const / scale * self._width * self._lipschitz
        t = self._t
        denom = max(err + 2.0 * alpha**2 * t, 1e-12)
        self._gamma = cfg.exploration * 2.0 * t * math.sqrt(self._k * t / denom)
        self._t += 1

    def _fit(self, arm: int) -> np.ndarray:
        """Box-constrained least squares of arm ``arm``'s normalized costs on its features."""
        gram = self._gram[arm]
        c = self._scalar
        c[()] = self._scale
        rhs = self._moment[arm] / c
        well_posed = self._count[arm] >= 2 * self._m
        if well_posed:
            # The active bounds rarely change between two updates of an arm: first try the bounds that
            # held at its previous fit, accepted only if the KKT conditions verify (the minimizer is
            # unique, so this is the same answer as the route below, which it skips).
            theta = _box_fit_on_active_set(gram, rhs, self.theta[arm].tolist(), self._upper_list)
            if theta is not None:
                return theta
        # Minimum-norm least squares: pinv(FᵀF) Fᵀy = pinv(F) y (also when the arm has < m rounds).
        theta = _solve_square(gram, rhs) if well_posed else None
        if theta is None:
            theta = _min_norm_solve(gram, rhs)
        for value, bound in zip(theta.tolist(), self._upper_list):
            if not abs(value) <= bound:
                break
        else:
            return theta
        # Warm start from the arm's previous fit: its active bounds rarely change between updates.
        upper = self._upper
        return box_least_squares(gram, rhs, -upper, upper, self.theta[arm], well_posed=well_posed)


def _box_fit_on_active_set(gram: np.ndarray, moment: np.ndarray, start: list[float],
                           upper: list[float]) -> np.ndarray | None:
    """The minimizer of ``½ θᵀ G θ - θᵀ h`` over ``|θ| ≤ upper`` if it has the active bounds of ``start``.

    Holds the coordinates of ``start`` (clipped to the box) that sit on a bound, solves for the others
    and checks the KKT conditions: the free part inside the box and every held gradient pointing out
    of it (the tolerance of `box_least_squares`). This is the first step of `box_least_squares` from
    ``start``, with its arithmetic, done with fewer numpy calls. ``G`` must be nonsingular.

    Returns:
        The minimizer, shape ``(m,)``, or None when ``start`` holds no bound or the check fails.
    """
    x: list[float] = []
    held: list[bool] = []
    for value, bound in zip(start, upper):
        if value <= -bound:
            x.append(-bound)
            held.append(True)
        elif value >= bound:
            x.append(bound)
            held.append(True)
        else:
            x.append(value)
            held.append(False)
    if not any(held):
        return None
    point = np.array(x)
    if not all(held):
        index = _active_set_index(tuple(held))
        free, fixed, free_free, free_fixed = index
        # G_FF θ_F = h_F - G_FH θ_H (flat `take` on precomputed indices: the same entries as boolean
        # masks, in the same order, at a fraction of the cost).
        solution = _solve_square(gram.take(free_free), moment.take(free) - gram.take(free_fixed) @ point.take(fixed))
        if solution is None:
            return None
        point.put(free, solution)
        for value, bound in zip(point.tolist(), upper):
            if not -bound <= value <= bound:
                return None
    grad = (gram @ point - moment).tolist()
    tol = 1e-12 * (1.0 + max(map(abs, moment.tolist())))
    for j, value in enumerate(x):
        if held[j]:
            wrong = 0.0
            if value <= -upper[j]:
                wrong -= grad[j]
            if value >= upper[j]:
                wrong += grad[j]
            if wrong > tol:  # releasing this bound would lower the objective
                return None
    return point


_INDEX_CACHE: dict[tuple[bool, ...], tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = {}


def _active_set_index(held: tuple[bool, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Flat indices of (F, H, F×F, F×H) into an ``m × m`` matrix for a held pattern (cached: 2^m patterns)."""
    index = _INDEX_CACHE.get(held)
    if index is None:
        m = len(held)
        free = np.array([j for j in range(m) if not held[j]], dtype=np.intp)
        fixed = np.array([j for j in range(m) if held[j]], dtype=np.intp)
        index = (free, fixed, free[:, None] * m + free[None, :], free[:, None] * m + fixed[None, :])
        _INDEX_CACHE[held] = index
    return index


def box_least_squares(gram: np.ndarray, moment: np.ndarray, lower: np.ndarray, upper: np.ndarray,
                      start: np.ndarray, max_iter: int = 100, well_posed: bool = False) -> np.ndarray:
    """Minimize ``½ θᵀ G θ - θᵀ h`` over the box ``lower ≤ θ ≤ upper`` (a least-squares fit in Gram form).

    A primal active-set method (the bound-constrained analogue of Lawson–Hanson): solve for the free
    coordinates with the others held at their bounds, walk towards that solution until a bound blocks
    (then hold it), and release a held coordinate whose gradient points into the box. It is exact in
    a finite number of steps; warm-started from the previous fit it usually needs one or two solves.
    Equals ``scipy.optimize.lsq_linear(F, y, bounds, method="bvls")`` for ``G = FᵀF``,
    ``h = Fᵀy``.

    Args:
        gram: ``G``, shape ``(m, m)``, symmetric positive semi-definite.
        moment: ``h``, shape ``(m,)``, in the range of ``G``.
        lower, upper: Bounds, shape ``(m,)``, ``lower <= upper``.
        start: A feasible starting point, shape ``(m,)``.
        max_iter: Cap on active-set changes.
        well_posed: ``G`` is known to be comfortably nonsingular (many more rows than coefficients):
            solve the free block directly instead of by minimum-norm least squares (faster).

    Returns:
        The minimizer, shape ``(m,)``.
    """
    # The vector bookkeeping runs on Python lists (m ≈ 6: cheaper than numpy calls), with the same
    # arithmetic as the vectorized form; numpy does the block solves and the gradient.
    low, up = np.asarray(lower, dtype=float).tolist(), np.asarray(upper, dtype=float).tolist()
    x = [min(max(v, lo), hi) for v, lo, hi in zip(np.asarray(start, dtype=float).tolist(), low, up)]
    held = [v <= lo or v >= hi for v, lo, hi in zip(x, low, up)]
    m = len(x)
    tol = 1e-12 * (1.0 + max(map(abs, moment.tolist()))) if m else 0.0
    for _ in range(max_iter):
        target = list(x)
        if not all(held):
            free, fixed, free_free, free_fixed = _active_set_index(tuple(held))
            point = np.array(x)
            rhs = moment.take(free) - gram.take(free_fixed) @ point.take(fixed)
            block = gram.take(free_free)
            solution = _solve_square(block, rhs) if well_posed else None
            if solution is None:
                solution = _min_norm_solve(block, rhs)
            for j, value in zip(free.tolist(), solution.tolist()):
                target[j] = value
        step = [a - b for a, b in zip(target, x)]
        if all(lo <= v <= hi for v, lo, hi in zip(target, low, up)):
            x = target
            grad = (gram @ np.array(x) - moment).tolist()
            # A held coordinate may leave its bound when the gradient points into the box.
            wrong = [0.0] * m
            for j in range(m):
                if held[j]:
                    if x[j] <= low[j]:
                        wrong[j] -= grad[j]
                    if x[j] >= up[j]:
                        wrong[j] += grad[j]
            worst_value = max(wrong)
            if worst_value <= tol:
                return np.array(x)
            held[wrong.index(worst_value)] = False
            continue
        limits = [
            (hi - v) / d if d > 0 else ((lo - v) / d if d < 0 else math.inf)
            for v, d, lo, hi in zip(x, step, low, up)
        ]
        block_value = min(limits)
        blocking = limits.index(block_value)
        alpha = min(max(block_value, 0.0), 1.0)
        x = [min(max(v + alpha * d, lo), hi) for v, d, lo, hi in zip(x, step, low, up)]
        x[blocking] = up[blocking] if step[blocking] > 0 else low[blocking]
        held[blocking] = True
    return np.array(x)



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
update ``O(m²)`` plus one small solve.

References:
    D. Foster, A. Rakhlin. "Beyond UCB: Optimal and Efficient Contextual Bandits with Regression
    Oracles." ICML 2020.
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. "Learning to Relax." ICLR 2024, arXiv:2310.02246.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, check_in_range, check_int
from guardopt.core.seeding import SeedLike, make_rng

__all__ = ["ChebCB", "ChebCBConfig", "box_least_squares", "chebyshev_features"]


def chebyshev_features(u: float, m: int) -> np.ndarray:
    """``(T_0(u), ..., T_{m-1}(u))`` by the three-term recurrence, shape ``(m,)``; ``u`` in ``[-1, 1]``."""
    out = np.empty(m)
    out[0] = 1.0
    if m > 1:
        out[1] = u
    for j in range(2, m):
        out[j] = 2.0 * u * out[j - 1] - out[j - 2]
    return out


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
        check_int(self.n_features, "n_features", "ChebCBConfig", low=1)
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
        self.config = config
        k, m = config.n_arms, config.n_features
        self._rng = make_rng(config.seed if rng is None else rng)
        self._width = config.context_high - config.context_low
        self.theta = np.zeros((k, m))  # coefficients, in normalized cost units
        self._gram = np.zeros((k, m, m))  # Σ φ φᵀ over the rounds each arm was played
        self._moment = np.zeros((k, m))  # Σ φ (ℓ - offset), raw units
        self._count = np.zeros(k, dtype=np.int64)
        self._t = 1
        self._gamma = 0.0
        self._scale = 0.0
        self._n_factor = 2.0
        self._lipschitz = 0.0
        self._loss_max = -math.inf
        self._loss_min = math.inf
        # Running sums for the oracle's cumulative squared error Σ (ŷ_s - ℓ_s / s)², in O(1).
        self._sum_pred2 = 0.0
        self._sum_pred_loss = 0.0
        self._sum_loss2 = 0.0
        self._pending: tuple[np.ndarray, int, float] | None = None  # (features, arm, prediction)

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
        x = float(context)
        if not math.isfinite(x):
            raise InputDataError(f"A context must be a finite number. Got {context!r} instead.")
        u = 2.0 * (x - self.config.context_low) / self._width - 1.0
        return chebyshev_features(min(max(u, -1.0), 1.0), self.config.n_features)

    def predictions(self, context: float) -> np.ndarray:
        """Predicted normalized costs of every arm at a context, shape ``(K,)``."""
        return self.theta @ self.features(context)

    def _distribution(self, yhat: np.ndarray) -> np.ndarray:
        k = yhat.size
        best = int(np.argmin(yhat))
        p = 1.0 / (k + self._gamma * (yhat - yhat[best]))
        p[best] = 0.0
        p[best] = max(1.0 - p.sum(), 0.0)
        return p / p.sum()

    def probabilities(self, context: float) -> np.ndarray:
        """The inverse-gap-weighted distribution over arms at a context, shape ``(K,)``."""
        return self._distribution(self.predictions(context))

    def sample(self, context: float) -> int:
        """Draw an arm for a context (remembered for the next `update`)."""
        phi = self.features(context)
        yhat = self.theta @ phi
        p = self._distribution(yhat)
        # Inverse-CDF sampling; faster than Generator.choice for a handful of arms.
        u = self._rng.random()
        arm = p.size - 1
        acc = 0.0
        for i, q in enumerate(p.tolist()):
            acc += q
            if u < acc:
                arm = i
                break
        self._pending = (phi, arm, float(yhat[arm]))
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
        arm = check_int(arm, "arm", "ChebCB.update", low=0, high=cfg.n_arms - 1)
        if isinstance(loss, bool) or not math.isfinite(float(loss)):
            raise InputDataError(f"A loss must be a finite number. Got {loss!r} instead.")
        if context is not None:
            phi = self.features(context)
            pred = float(self.theta[arm] @ phi)
        elif self._pending is not None and self._pending[1] == arm:
            phi, _, pred = self._pending
        else:
            raise InputDataError("ChebCB.update needs the context of a round that was not drawn by sample().")
        self._pending = None
        raw = float(loss)
        shifted = raw - cfg.loss_offset

        # Normalization (authors' schedule): it changes only when a new extreme cost is seen.
        self._loss_max = max(self._loss_max, raw)
        self._loss_min = min(self._loss_min, raw)
        k_max = max(self._loss_max - cfg.loss_offset, 1e-300)
        lip = (self._loss_max - self._loss_min) / self._width
        n_factor = 2.0 + 4.0 * self._width * lip / k_max * (1.0 + math.log(cfg.n_features))
        scale = k_max * n_factor
        rescaled = scale != self._scale
        self._scale, self._n_factor, self._lipschitz = scale, n_factor, lip

        self._gram[arm] += np.outer(phi, phi)
        self._moment[arm] += phi * shifted
        self._count[arm] += 1
        for i in range(cfg.n_arms) if rescaled else (arm,):
            if self._count[i]:
                self.theta[i] = self._fit(i)

        # γ_t from the oracle's squared error so far (predictions were made in the units of their time).
        self._sum_pred2 += pred * pred
        self._sum_pred_loss += pred * shifted
        self._sum_loss2 += shifted * shifted
        err = self._sum_pred2 - 2.0 * self._sum_pred_loss / scale + self._sum_loss2 / scale**2
        m = cfg.n_features
        alpha = (math.pi + 2.0 / math.pi * math.log(2.0 * m + 1.0)) / (2.0 * scale * (m + 1)) * self._width * lip
        t = self._t
        denom = max(err + 2.0 * alpha**2 * t, 1e-12)
        self._gamma = cfg.exploration * 2.0 * t * math.sqrt(cfg.n_arms * t / denom)
        self._t += 1

    def _fit(self, arm: int) -> np.ndarray:
        """Box-constrained least squares of arm ``arm``'s normalized costs on its features."""
        m = self.config.n_features
        gram = self._gram[arm]
        rhs = self._moment[arm] / self._scale
        upper = np.empty(m)
        upper[0] = 1.0 / self._n_factor
        upper[1:] = 2.0 * self._width * self._lipschitz / self._scale / np.arange(1, m)
        # Minimum-norm least squares: pinv(FᵀF) Fᵀy = pinv(F) y (also when the arm has < m rounds).
        if self._count[arm] >= 2 * m:
            try:
                theta = np.linalg.solve(gram, rhs)
            except np.linalg.LinAlgError:
                theta = np.linalg.lstsq(gram, rhs, rcond=None)[0]
        else:
            theta = np.linalg.lstsq(gram, rhs, rcond=None)[0]
        if np.all(np.abs(theta) <= upper):
            return theta
        # Warm start from the arm's previous fit: its active bounds rarely change between updates.
        return box_least_squares(gram, rhs, -upper, upper, self.theta[arm], well_posed=self._count[arm] >= 2 * m)


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
    x = np.clip(start, lower, upper)
    held = (x <= lower) | (x >= upper)
    for _ in range(max_iter):
        free = ~held
        target = x.copy()
        if free.any():
            rows = gram[free]
            rhs = moment[free] - rows[:, held] @ x[held]
            block = rows[:, free]
            try:
                if not well_posed:
                    raise np.linalg.LinAlgError
                target[free] = np.linalg.solve(block, rhs)
            except np.linalg.LinAlgError:
                target[free] = np.linalg.lstsq(block, rhs, rcond=None)[0]
        step = target - x
        inside = np.all(target >= lower) and np.all(target <= upper)
        if inside:
            x = target
            grad = gram @ x - moment
            # A held coordinate may leave its bound when the gradient points into the box.
            wrong = np.where(held & (x <= lower), -grad, 0.0) + np.where(held & (x >= upper), grad, 0.0)
            worst = int(np.argmax(wrong))
            if wrong[worst] <= 1e-12 * (1.0 + float(np.abs(moment).max())):
                return x
            held[worst] = False
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            to_upper = np.where(step > 0, (upper - x) / step, np.inf)
            to_lower = np.where(step < 0, (lower - x) / step, np.inf)
        limits = np.minimum(to_upper, to_lower)
        block = int(np.argmin(limits))
        alpha = min(max(float(limits[block]), 0.0), 1.0)
        x = np.clip(x + alpha * step, lower, upper)
        x[block] = upper[block] if step[block] > 0 else lower[block]
        held[block] = True
    return x

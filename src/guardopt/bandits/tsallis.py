"""1/2-Tsallis-INF: a bandit over K arms that is optimal against adversarial and stochastic losses.

Follow-the-regularized-leader with the 1/2-Tsallis entropy: at round ``t`` with learning rate
``η_t = c / sqrt(t)`` and importance-weighted cumulative losses ``L̂_i``, play

    p_i = 4 / (η_t (L̂_i - x))²,  with the normalizer x < min_i L̂_i chosen so that Σ_i p_i = 1,

then update only the played arm: ``L̂_i += ℓ / p_i``. Khodak et al. (2024) use it to pick the SOR
relaxation parameter ω from a grid, with the iteration count as the loss.

The normalizer is the numerically delicate part. Writing ``d_i = L̂_i - min L̂ ≥ 0`` and
``y = min L̂ - x > 0``, the constraint is ``f(y) = Σ_i 4 / (η (d_i + y))² = 1`` where ``f`` is decreasing
on ``y > 0``, with the bracket

    f(2/η) ≥ 1 (the best arm alone contributes 1),  f(2 sqrt(K)/η) ≤ 1 (every term is ≤ 1/K).

We solve ``h(y) = f(y)^(-1/2) = 1`` instead: ``h`` is a power mean (exponent -2) of the ``d_i + y``,
hence increasing and concave, so Newton's method lands left of the root from any starting point and
then increases monotonically to it without leaving the bracket (the tangent of a concave function lies
above it); a step that rounding pushes outside the bracket is replaced by bisection. ``h`` is nearly
linear (exactly, when all gaps are equal), so a few steps suffice, and each round warm-starts from
the previous root. Working with the gaps ``d_i`` rather than ``L̂_i`` avoids cancellation when
cumulative losses are huge. (The authors' MATLAB code instead runs 20 unguarded Newton steps on
``f`` from ``x = -1``; those can jump past ``min L̂`` and diverge, and MATLAB's sampler silently
renormalizes whatever "probabilities" come out.)

References:
    J. Zimmert, Y. Seldin. "Tsallis-INF: An Optimal Algorithm for Stochastic and Adversarial Bandits."
    JMLR 22(28), 2021.
    M. Khodak, E. Chow, M.-F. Balcan, A. Talwalkar. "Learning to Relax." ICLR 2024, arXiv:2310.02246.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from itertools import accumulate

import numpy as np

from guardopt.core.errors import (
    InputDataError,
    InvalidParameterError,
    as_float_array,
    check_in_range,
    check_int,
    to_float,
)
from guardopt.core.seeding import SeedLike, make_rng

__all__ = ["TsallisINF", "TsallisINFConfig", "tsallis_inf_probabilities"]


def tsallis_inf_probabilities(cum_losses: np.ndarray, eta: float, *, max_iter: int = 100) -> np.ndarray:
    """The 1/2-Tsallis-INF distribution ``p_i = 4 / (η (L_i - x))²`` with ``Σ p_i = 1``.

    Args:
        cum_losses: Cumulative (importance-weighted) losses ``L``, shape ``(K,)``, finite.
        eta: Learning rate ``η > 0``.
        max_iter: Cap on safeguarded Newton steps (convergence typically takes fewer than 10).

    Returns:
        Probabilities, shape ``(K,)``: non-negative, summing to 1, non-increasing in ``L``.
    """
    L = as_float_array(cum_losses, "cum_losses", "tsallis_inf_probabilities")
    if L.ndim != 1 or L.size == 0 or not np.all(np.isfinite(L)):
        raise InputDataError(f"The 'cum_losses' argument of tsallis_inf_probabilities must be a finite, non-empty "
                             f"1-D array. Got {cum_losses!r} instead.")
    eta_f = to_float(eta)
    if isinstance(eta, bool) or not (eta_f > 0 and math.isfinite(eta_f)):
        raise InputDataError(f"The 'eta' argument of tsallis_inf_probabilities (the learning rate) must be positive "
                             f"and finite. Got {eta!r} instead.")
    eta = eta_f
    max_iter = check_int(max_iter, "max_iter", "tsallis_inf_probabilities", low=1)
    work = np.empty((3, L.size))
    _solve(L, eta, 1.0, work, max_iter)
    return work[2].copy()


def _solve(L: np.ndarray, eta: float, start: float, work: np.ndarray, max_iter: int = 100,
           spread_is_finite: bool = False, scalar: np.ndarray | None = None) -> float:
    """Solve for the normalizer ``y' = η (min L - x) / 2`` from a starting guess; ``p`` is left in ``work[2]``.

    ``work`` is scratch space of shape ``(3, K)`` (preallocated by `TsallisINF`): at K ≈ 20 the cost
    of this function is the number of numpy calls, not arithmetic, so every array operation writes
    into a buffer and the sums are BLAS dot products. The arithmetic is that of the straightforward
    version (``1 / (d + y)``, ``inv @ inv``, ...), operation for operation, so the results are
    bit-identical to it. ``spread_is_finite`` asserts that ``max L - min L`` cannot overflow (the caller
    knows a bound on ``|L|``), which skips that check. ``scalar`` is a 0-d scratch array: numpy
    takes a 0-d array operand faster than a Python float (no conversion per call).
    """
    d, inv, sq = work[0], work[1], work[2]
    c = np.empty(()) if scalar is None else scalar
    # Gaps to the leader, rescaled by η/2: then p_i = 1 / (d_i + y')² and the root y' lies in
    # [1, sqrt(K)]. Huge spreads only make some terms underflow to 0, which is harmless.
    low = float(L[L.argmin()])
    half_eta = eta / 2.0
    if not spread_is_finite and math.isinf(float(L[L.argmax()]) - low):
        # Gaps beyond the float range (only with absurd losses): compute them without overflow warnings.
        with np.errstate(over="ignore"):
            np.subtract(L, low, out=d)
            np.multiply(d, half_eta, out=d)
    else:
        c[()] = low
        np.subtract(L, c, out=d)
        c[()] = half_eta
        np.multiply(d, c, out=d)
    lo, hi = 1.0, math.sqrt(L.size)
    y = min(max(start, lo), hi)
    for _ in range(max_iter):
        c[()] = y
        np.add(d, c, out=inv)
        np.reciprocal(inv, out=inv)  # underflow to 0 for far-behind arms is harmless (and silent)
        f = float(inv.dot(inv))
        if abs(f - 1.0) <= 1e-10:
            # p ∝ inv²; renormalizing absorbs the remaining error in f.
            np.multiply(inv, inv, out=sq)
            c[()] = f
            np.divide(sq, c, out=sq)
            return y
        if f > 1.0:
            lo = y
        else:
            hi = y
        if hi - lo <= 1e-15 * hi:
            break
        # Newton on h(y) = f(y)^(-1/2) = 1, with h' = f^(-3/2) Σ (d_i + y)^(-3). h is increasing and
        # concave, so from any y the step lands left of the root and then increases monotonically to
        # it; a step outside the bracket (rounding, or left of y = 1) bisects instead.
        np.multiply(inv, inv, out=sq)
        y_new = y + (1.0 - f**-0.5) * f**1.5 / float(sq.dot(inv))
        y = y_new if lo < y_new < hi else 0.5 * (lo + hi)
    np.add(d, y, out=sq)
    np.multiply(sq, sq, out=sq)
    np.reciprocal(sq, out=sq)
    np.divide(sq, sq.sum(), out=sq)
    return y


@dataclass(frozen=True)
class TsallisINFConfig:
    """Configuration of `TsallisINF`.

    Attributes:
        n_arms: Number of arms ``K``.
        eta_scale: ``c`` in the learning rate ``η_t = c / sqrt(t)`` (Zimmert & Seldin and the paper use 2).
        loss_offset: Subtracted from every loss before use; the smallest possible loss (1 for an
            iteration count, as in the paper's code) makes the shifted losses start at 0.
        loss_scale: Shifted losses are divided by this scale. ``None`` (default) uses the running mean
            of the shifted losses observed so far, as the authors' code does, so that the learner is
            invariant to the units of the cost.
        seed: Seed of the sampling stream.
    """

    n_arms: int
    eta_scale: float = 2.0
    loss_offset: float = 0.0
    loss_scale: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        check_int(self.n_arms, "n_arms", "TsallisINFConfig", low=1)
        check_in_range(self.eta_scale, "eta_scale", "TsallisINFConfig", 0.0)
        check_in_range(self.loss_offset, "loss_offset", "TsallisINFConfig")
        if self.loss_scale is not None:
            check_in_range(self.loss_scale, "loss_scale", "TsallisINFConfig", 0.0)


class TsallisINF:
    """The 1/2-Tsallis-INF bandit: `sample` an arm, then `update` it with the loss it incurred.

    Example:
        >>> bandit = TsallisINF(TsallisINFConfig(n_arms=3, seed=0))
        >>> arm = bandit.sample()
        >>> bandit.update(arm, loss=0.5)
        >>> bool(abs(bandit.probabilities().sum() - 1.0) < 1e-12)
        True
    """

    def __init__(self, config: TsallisINFConfig, rng: SeedLike = None) -> None:
        if not isinstance(config, TsallisINFConfig):
            raise InvalidParameterError("config", "TsallisINF", "a TsallisINFConfig", config)
        self.config = config
        self._rng = make_rng(config.seed if rng is None else rng)
        self._cum = np.zeros(config.n_arms)  # importance-weighted cumulative shifted losses
        self._work = np.empty((3, config.n_arms))  # scratch of the normalizer; row 2 holds the last p
        self._scalar = np.empty(())
        self._loss_sum = 0.0
        self._t = 1  # the round being played
        self._last_p: list[float] | None = None
        self._last_prob = math.nan
        self._y = 1.0  # last normalizer, a warm start (the root moves little between rounds)
        self._cum_bound = 0.0  # an upper bound on max |L̂_i| (the sum of |increments|)
        # Config fields read every round, as plain attributes (the per-round cost is interpreter overhead).
        self._n_arms = config.n_arms
        self._eta_scale = config.eta_scale
        self._offset = config.loss_offset
        self._fixed_scale = config.loss_scale

    @property
    def t(self) -> int:
        """Index of the current round (1 before the first update)."""
        return self._t

    @property
    def cumulative_losses(self) -> np.ndarray:
        """Importance-weighted cumulative shifted losses ``L̂``, shape ``(K,)`` (a copy)."""
        return self._cum.copy()

    @property
    def last_probability(self) -> float:
        """Probability with which the last `sample` drew its arm (NaN before any sample)."""
        return self._last_prob

    def _scale(self) -> float:
        """The loss scale: the fixed one, else the running mean of the shifted losses (1 before any)."""
        scale = self._fixed_scale
        if scale is None:
            t = self._t
            mean = self._loss_sum / (t - 1) if t > 1 else 0.0
            # Before any (nonzero) loss every L̂ is 0 and the scale does not matter.
            scale = mean if mean > 0 else 1.0
        return scale

    def _eta(self) -> float:
        """``η_t`` divided by the loss scale: dividing η by it is the same as dividing the losses by it."""
        return self._eta_scale / (math.sqrt(self._t) * self._scale())

    def _normalize(self) -> None:
        """Solve for the current distribution (left in ``self._work[2]``)."""
        eta = self._eta()
        if math.isfinite(eta):
            self._y = _solve(self._cum, eta, self._y, self._work, spread_is_finite=self._cum_bound < 1e307,
                             scalar=self._scalar)
            return
        # A loss scale so small (subnormal losses) that η_t / scale overflows: divide the losses by
        # the scale instead, which is the same distribution without an infinite rate (inf * 0 = NaN).
        with np.errstate(over="ignore"):
            scaled = self._cum / self._scale()
        self._y = _solve(scaled, self._eta_scale / math.sqrt(self._t), self._y, self._work, scalar=self._scalar)

    def probabilities(self) -> np.ndarray:
        """The current distribution over arms, shape ``(K,)``."""
        self._normalize()
        return self._work[2].copy()

    def sample(self) -> int:
        """Draw an arm from the current distribution (remembered for the next `update`)."""
        self._normalize()
        probs = self._work[2].tolist()
        self._last_p = probs
        # Inverse-CDF sampling: the first arm whose cumulative probability exceeds u (the running sums
        # are formed left to right, as a loop would); rounding can leave u above the last one.
        arm = bisect_right(list(accumulate(probs)), self._rng.random())
        if arm == self._n_arms:
            arm -= 1
        self._last_prob = probs[arm]
        return arm

    def update(self, arm: int, loss: float, probability: float | None = None) -> None:
        """Feed back the loss of the arm played this round.

        Args:
            arm: The arm played.
            loss: Its loss (finite).
            probability: The probability with which ``arm`` was drawn; by default the one from the
                last `sample` (or the current distribution when there was none).
        """
        if type(arm) is not int:  # the common case first: a plain int from `sample`
            if not isinstance(arm, (int, np.integer)) or isinstance(arm, bool):
                check_int(arm, "arm", "TsallisINF.update", low=0, high=self._n_arms - 1)  # raises
            arm = int(arm)
        if not 0 <= arm < self._n_arms:
            check_int(arm, "arm", "TsallisINF.update", low=0, high=self._n_arms - 1)  # raises
        value = to_float(loss)
        if not math.isfinite(value) or isinstance(loss, bool):
            raise InputDataError(f"The 'loss' argument of TsallisINF.update must be a finite number. Got {loss!r} "
                                 "instead.")
        if probability is None:
            p_all = self._last_p if self._last_p is not None else self.probabilities().tolist()
            probability = p_all[arm]
        prob = to_float(probability)
        if isinstance(probability, bool) or not 0.0 < prob <= 1.0:
            raise InputDataError(f"The 'probability' of the played arm must be in (0, 1]. Got {probability!r}.")
        shifted = value - self._offset
        weight = shifted / prob
        if not (math.isfinite(self._cum_bound + abs(weight)) and math.isfinite(self._loss_sum + shifted)):
            # A loss near the float64 limit, divided by a small probability, would make every
            # probability NaN from here on.
            raise InputDataError(f"The 'loss' argument of TsallisINF.update ({loss!r}) overflows float64 once "
                                 "importance-weighted; rescale the losses.")
        self._cum[arm] += weight
        self._cum_bound += abs(weight)
        self._loss_sum += shifted
        self._t += 1
        self._last_p = None

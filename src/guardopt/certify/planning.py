"""Before certifying: how small a gap can the safety test certify at a given sample size?

A gap constraint ``|P(yhat=1 | a) - P(yhat=1 | b)| <= epsilon`` is certified when the propagated
upper bound ``max(U_a - L_b, U_b - L_a)`` is at most ``epsilon`` (`guardopt.certify.constraints`).
Even a classifier whose two groups have *exactly* the same observed positive rate ``p`` gets the
bound ``r_a + r_b`` (the two one-sided radii, each at ``delta / 2``), so no threshold below it can be
certified at that sample size, however fair the classifier. `certifiable_gap` computes this floor
with the same radii the test uses (Student-t or Hoeffding, on the safety share of the data);
`minimum_n` inverts it.

Example: ``certifiable_gap(569)`` (the breast-cancer data set's size, ``delta = 0.05``, 60% of it
held out, two equal groups, positive rate 0.5) is about 0.15: a 0.1 parity gap cannot be certified
at ``n = 569`` even for a truly fair random group; ``minimum_n(0.1)`` gives the size that can.
"""

from __future__ import annotations

import math

from guardopt.core.errors import InvalidParameterError, check_choice, check_in_range, check_int
from guardopt.uncertainty.bounds import hoeffding_radius, student_t_radius

_OWNER = "certifiable_gap"
_MAX_N = 10**12


def _group_sizes(n: int, safety_fraction: float, group_share: float) -> tuple[int, int]:
    n_s = round(n * safety_fraction)  # as `Seldonian.split` rounds
    n_a = round(n_s * group_share)
    return n_a, n_s - n_a


def _radius(m: int, rate: float, delta: float, bound: str) -> float:
    if bound == "hoeffding":
        return float(hoeffding_radius(m, delta, 1.0))
    if m < 2:
        return math.inf
    # Bessel-corrected sd of m 0/1 outputs whose mean is `rate` (what the test computes).
    sd = math.sqrt(rate * (1.0 - rate) * m / (m - 1.0))
    return float(student_t_radius(m, sd, delta))


def certifiable_gap(n: int, delta: float = 0.05, *, safety_fraction: float = 0.6, group_share: float = 0.5,
                    rate: float = 0.5, bound: str = "ttest") -> float:
    """The smallest gap threshold the safety test can certify at ``n`` samples (a floor, see the module docstring).

    Args:
        n: Samples given to `Seldonian.run` (the safety test sees ``round(n * safety_fraction)`` of
            them); for a false-positive-rate gap, the number of negatives.
        delta: The constraint's miscoverage (each of the two one-sided group bounds takes ``delta / 2``).
        safety_fraction: Share held out for the safety test (`Seldonian.safety_fraction`).
        group_share: Share of the safety samples in the first group (the other group has the rest).
        rate: The positive rate of the classifier in both groups (0.5 maximizes the Student-t radius).
        bound: ``"ttest"`` or ``"hoeffding"``, as `Seldonian.bound`.

    Returns:
        The upper bound the test computes for a classifier whose observed gap is exactly 0,
        ``min(p + r_a, 1) - max(p - r_b, 0)`` (the larger of the two orders), in ``[0, 1]``; ``1`` or
        more when a group has too few samples. A threshold below it is never certified.
    """
    check_int(n, "n", _OWNER, low=1)
    check_in_range(delta, "delta", _OWNER, 0.0, 1.0)
    check_in_range(safety_fraction, "safety_fraction", _OWNER, 0.0, 1.0)
    check_in_range(group_share, "group_share", _OWNER, 0.0, 1.0)
    check_in_range(rate, "rate", _OWNER, 0.0, 1.0, low_open=False, high_open=False)
    check_choice(bound, "bound", _OWNER, ("ttest", "hoeffding"))
    n_a, n_b = _group_sizes(int(n), float(safety_fraction), float(group_share))
    if n_a < 1 or n_b < 1:
        return math.inf
    r_a, r_b = _radius(n_a, rate, delta / 2.0, bound), _radius(n_b, rate, delta / 2.0, bound)
    if not (math.isfinite(r_a) and math.isfinite(r_b)):
        return math.inf
    # The test clips each rate's bound to [0, 1] (never loses coverage); the same here.
    up_a, lo_a = min(rate + r_a, 1.0), max(rate - r_a, 0.0)
    up_b, lo_b = min(rate + r_b, 1.0), max(rate - r_b, 0.0)
    return max(up_a - lo_b, up_b - lo_a)


def minimum_n(epsilon: float, delta: float = 0.05, *, safety_fraction: float = 0.6, group_share: float = 0.5,
              rate: float = 0.5, bound: str = "ttest") -> int:
    """The smallest ``n`` at which `certifiable_gap` is at most ``epsilon`` (same arguments).

    This is necessary, not sufficient: at this ``n`` a classifier whose observed gap is 0 passes;
    one with an observed gap ``g > 0`` needs ``epsilon - g`` of room, hence more samples.

    Raises:
        InvalidParameterError: ``epsilon`` not in (0, 1], or no ``n`` up to 10^12 suffices.
    """
    check_in_range(epsilon, "epsilon", "minimum_n", 0.0, 1.0, high_open=False)

    def ok(n: int) -> bool:
        return certifiable_gap(n, delta, safety_fraction=safety_fraction, group_share=group_share, rate=rate,
                               bound=bound) <= epsilon

    hi = 4
    while not ok(hi):
        hi *= 2
        if hi > _MAX_N:
            raise InvalidParameterError("epsilon", "minimum_n", f"a gap certifiable with at most {_MAX_N} samples",
                                        epsilon)
    lo = hi // 2  # ok(lo) is False (or lo is below the first size tried)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if ok(mid):
            hi = mid
        else:
            lo = mid
    # Rounding in the splits makes the floor not quite monotone in n: step down while it still holds.
    while hi > 1 and ok(hi - 1):
        hi -= 1
    return hi

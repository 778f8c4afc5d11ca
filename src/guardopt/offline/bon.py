"""Best-of-n selection: the unbiased estimator (in log space), Monte-Carlo best-of-n and KL(n).

Best-of-n (BoN) draws ``n`` responses from a policy, scores them with a proxy reward and keeps the
best. Given ``N >= n`` scored samples per prompt, sorted by proxy score, the expected gold score of
BoN over all ``C(N, n)`` subsets of size ``n`` is (Nakano et al., 2021; Gao et al., 2023;
Coste et al., 2024, "Reward Model Ensembles Help Mitigate Overoptimization", arXiv 2310.02743)::

    E[gold@n] = sum_{i=n}^{N} C(i - 1, n - 1) / C(N, n) * gold_(i)

where ``gold_(i)`` is the gold score of the sample with the ``i``-th smallest proxy score. The
binomial coefficients overflow float64 for ``n`` in the hundreds and ``N`` in the thousands (the
authors' code uses exact integers and then divides; a float version returns NaN from ``n = 512``
on), so the weights here are computed as ``exp(log C(i-1, n-1) - log C(N, n))`` with
``scipy.special.gammaln``.

The KL divergence between the BoN policy and the base policy is ``log n - (n - 1) / n``
(Stiennon et al., 2020), the x-axis of the paper's figures.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.special import gammaln

from guardopt.core.errors import (
    InputDataError,
    InsufficientDataError,
    InvalidParameterError,
    as_float_array,
    check_int,
)
from guardopt.core.seeding import SeedLike, make_rng


def log_binom(n: np.ndarray | float, k: np.ndarray | float) -> np.ndarray:
    """``log C(n, k)`` for real ``n >= k >= 0`` (elementwise, via ``gammaln``)."""
    n_ = np.asarray(n, dtype=float)
    k_ = np.asarray(k, dtype=float)
    return np.asarray(gammaln(n_ + 1.0) - gammaln(k_ + 1.0) - gammaln(n_ - k_ + 1.0))


def bon_weights(n: int, big_n: int) -> np.ndarray:
    """Probability that the ``i``-th smallest of ``big_n`` samples is the best of a random ``n``-subset.

    Args:
        n: Subset size, ``1 <= n <= big_n``.
        big_n: Number of scored samples.

    Returns:
        Weights of shape ``(big_n,)`` indexed by the ascending rank ``i - 1``; zero for ranks below
        ``n``; they sum to 1.
    """
    check_int(n, "n", "bon_weights", low=1)
    check_int(big_n, "big_n", "bon_weights", low=n)
    i = np.arange(n, big_n + 1, dtype=float)
    logw = log_binom(i - 1.0, n - 1.0) - log_binom(float(big_n), float(n))
    w = np.zeros(big_n)
    w[n - 1 :] = np.exp(logw)
    return w


def _check_scores(proxy: np.ndarray, gold: np.ndarray, owner: str) -> tuple[np.ndarray, np.ndarray]:
    # Finite real scores only: an infinite score times a zero weight is NaN, and an infinite gold
    # score would make the estimate infinite instead of refusing the data.
    p = np.atleast_2d(as_float_array(proxy, "proxy", owner, finite=True))
    g = np.atleast_2d(as_float_array(gold, "gold", owner, finite=True))
    if p.ndim != 2 or p.shape != g.shape:
        raise InputDataError(f"proxy and gold must have the same shape (prompts, N) or (N,); got {p.shape}, "
                             f"{g.shape}.")
    if p.shape[0] == 0 or p.shape[1] == 0:
        raise InsufficientDataError(f"{owner} needs at least one prompt with at least one scored sample; got "
                                    f"proxy and gold of shape {p.shape}.")
    return p, g


def best_of_n(
    proxy: np.ndarray, gold: np.ndarray, ns: Sequence[int], *, per_prompt: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Unbiased best-of-n estimates of the gold and the proxy score.

    Args:
        proxy: Proxy scores (what selection sees), shape ``(prompts, N)`` or ``(N,)``.
        gold: Gold scores of the same samples, same shape.
        ns: Values of ``n``, each in ``[1, N]``.
        per_prompt: Return ``(len(ns), prompts)`` arrays instead of the mean over prompts.

    Returns:
        ``(gold_at_n, proxy_at_n)``, each of shape ``(len(ns),)`` (or ``(len(ns), prompts)``).
        Ties in the proxy are broken by sample order (a stable sort).

    Raises:
        InputDataError: ``proxy`` or ``gold`` is not finite real data of one shape (NaN or ±inf).
        InsufficientDataError: No prompt or no sample.
        InvalidParameterError: ``ns`` is empty or holds a value that is not an integer in ``[1, N]``.
    """
    p, g = _check_scores(proxy, gold, "best_of_n")
    big_n = p.shape[1]
    if isinstance(ns, (str, bytes)) or not hasattr(ns, "__len__") or len(ns) == 0:
        raise InvalidParameterError("ns", "best_of_n", "a non-empty sequence of integers in [1, N]", ns)
    ns = [check_int(n, "ns", "best_of_n", low=1, high=big_n) for n in ns]
    order = np.argsort(p, axis=1, kind="stable")
    p_sorted = np.take_along_axis(p, order, axis=1)
    g_sorted = np.take_along_axis(g, order, axis=1)
    w = np.stack([bon_weights(n, big_n) for n in ns])  # (len(ns), N)
    gold_n = w @ g_sorted.T  # (len(ns), prompts)
    proxy_n = w @ p_sorted.T
    if per_prompt:
        return gold_n, proxy_n
    return gold_n.mean(axis=1), proxy_n.mean(axis=1)


def monte_carlo_best_of_n(
    proxy: np.ndarray, gold: np.ndarray, n: int, n_trials: int = 500, seed: SeedLike = None,
    chunk: int = 512,
) -> tuple[float, float]:
    """Monte-Carlo best-of-n: draw ``n`` of the ``N`` samples without replacement, keep the best.

    Args:
        proxy: Proxy scores, shape ``(prompts, N)`` or ``(N,)``.
        gold: Gold scores, same shape.
        n: Subset size.
        n_trials: Draws per prompt.
        seed: Seed or Generator.
        chunk: Rows of random keys drawn at once (memory ``chunk * N`` floats).

    Returns:
        ``(mean, standard_error)`` of the gold score of the selected sample, averaged over prompts
        (prompt-stratified standard error).
    """
    p, g = _check_scores(proxy, gold, "monte_carlo_best_of_n")
    n_prompts, big_n = p.shape
    check_int(n, "n", "monte_carlo_best_of_n", low=1, high=big_n)
    check_int(n_trials, "n_trials", "monte_carlo_best_of_n", low=2)
    check_int(chunk, "chunk", "monte_carlo_best_of_n", low=1)  # 0 would loop forever
    rng = make_rng(seed)
    picked = np.empty((n_prompts, n_trials))
    for j in range(n_prompts):
        done = 0
        while done < n_trials:
            rows = min(chunk, n_trials - done)
            # The n smallest of N iid uniform keys are a uniform n-subset without replacement.
            idx = np.argpartition(rng.random((rows, big_n)), n - 1, axis=1)[:, :n]
            best = np.take_along_axis(idx, np.argmax(p[j][idx], axis=1)[:, None], axis=1)[:, 0]
            picked[j, done : done + rows] = g[j][best]
            done += rows
    mean = float(picked.mean())
    se = float(np.sqrt(np.sum(picked.var(axis=1, ddof=1)) / n_trials) / n_prompts)
    return mean, se


def kl_best_of_n(n: np.ndarray | int) -> np.ndarray:
    """KL divergence of the best-of-n policy from the base policy: ``log n - (n - 1) / n``."""
    nn = as_float_array(n, "n", "kl_best_of_n", finite=True)
    if np.any(nn < 1):
        raise InputDataError("kl_best_of_n needs n >= 1.")
    return np.asarray(np.log(nn) - (nn - 1.0) / nn)

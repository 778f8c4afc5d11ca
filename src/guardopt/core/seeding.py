"""Explicit randomness: every stochastic component takes a seed or a Generator, never global state."""

from __future__ import annotations

import numpy as np

from guardopt.core.errors import InvalidParameterError

SeedLike = int | np.random.Generator | None


def make_rng(seed: SeedLike, owner: str = "make_rng") -> np.random.Generator:
    """Return a `numpy.random.Generator` for a seed, or the Generator itself when one is given.

    Raises:
        InvalidParameterError: ``seed`` is not None, a non-negative integer, a `SeedSequence` or a
            Generator (numpy's own error would not say which argument was wrong).
    """
    if isinstance(seed, np.random.Generator):
        return seed
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return np.random.default_rng(seed)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InvalidParameterError("seed", owner, "None, a non-negative integer or a numpy Generator", seed)
    return np.random.default_rng(int(seed))


def derive_seed(seed: int | None, *keys: int | str) -> int | None:
    """A deterministic child seed for a sub-component (e.g. a worker), or None when unseeded.

    Derived seeds let parallel workers get different but reproducible streams, rather than silently
    re-randomizing a user's seed.
    """
    if seed is None:
        return None
    material = [seed] + [k if isinstance(k, int) else _stable_hash(k) for k in keys]
    return int(np.random.SeedSequence(material).generate_state(1)[0])


def _stable_hash(text: str) -> int:
    # Python's hash() is salted per process; seeds must agree across processes.
    h = 0
    for ch in text.encode():
        h = (h * 131 + ch) % (2**31 - 1)
    return h

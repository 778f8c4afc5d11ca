"""Vectorized helpers over a `Space`'s unit-cube encoding: projection to valid points, candidate sets.

The GP works on ``Space.encode`` coordinates: one column per `Real` / `Integer`, a one-hot block per
`Choice`. An acquisition is only ever scored at *valid* encodings, i.e. at ``encode(decode(u))``:
integers are rounded (the GP then sees each integer at the centre of its cell) and a choice's block
is made one-hot. `project` does this for a whole batch at once, identically to the scalar
``Space.decode`` / ``Space.encode`` round trip (tested). In a conditional space it also resets the
columns of parameters made inactive by their parents to the space's fixed fill (`active_mask`).
"""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import qmc

from guardopt.core.space import INACTIVE_FILL, Choice, Integer, Real, Space


class EncodedSpace:
    """Column bookkeeping of a space's encoding.

    Attributes:
        dim: Encoded width.
        continuous: Encoded columns of `Real` and `Integer` parameters (moved by gradient steps).
        blocks: Column slices of `Choice` one-hot blocks (held fixed by gradient steps).
        conditions: Per parameter, in the space's topological order, ``(name, [(parent, allowed)])``
            with the allowed values as option indices (`Choice` parent) or integers (`Integer`).
    """

    def __init__(self, space: Space) -> None:
        self.space = space
        self.dim = space.dim
        self.continuous: list[int] = []
        self.integers: list[tuple[int, Integer]] = []
        self.blocks: list[slice] = []
        for name, p in space.params.items():
            s = space.slice_of(name)
            if isinstance(p, Choice):
                self.blocks.append(s)
            else:
                self.continuous.append(s.start)
                if isinstance(p, Integer):
                    self.integers.append((s.start, p))
        self.is_continuous = not self.integers and not self.blocks
        self.conditional = space.is_conditional
        # For each parameter, in the space's topological order, its conditions: (parent, the allowed
        # values as option indices (Choice) or integers); an empty list when unconditional.
        self.conditions: list[tuple[str, list[tuple[str, np.ndarray]]]] = []
        for name in space.order:
            conds = []
            for parent, values in space.conditions_of(name).items():
                pp = space.params[parent]
                if isinstance(pp, Choice):
                    allowed = np.array([i for i, o in enumerate(pp.options) if any(_same(o, v) for v in values)])
                else:
                    allowed = np.array([int(v) for v in values])
                conds.append((parent, allowed))
            self.conditions.append((name, conds))

    def parent_values(self, u: np.ndarray, name: str) -> np.ndarray:
        """Per row, a parent's option index (Choice) or integer value (Integer), shape ``(m,)``."""
        p = self.space.params[name]
        s = self.space.slice_of(name)
        if isinstance(p, Choice):
            return np.asarray(np.argmax(u[:, s], axis=1))
        assert isinstance(p, Integer)
        lo, hi = p.low - 0.5, p.high + 0.5
        col = u[:, s.start]
        x = np.exp(math.log(lo) + col * (math.log(hi) - math.log(lo))) if p.log else lo + col * (hi - lo)
        return np.asarray(np.clip(np.round(x), p.low, p.high).astype(int))

    def active_mask(self, u: np.ndarray) -> dict[str, np.ndarray]:
        """Which parameters are active in each row of valid encodings ``u`` (``(m, dim)``): name -> ``(m,)`` bool."""
        u = np.atleast_2d(u)
        out: dict[str, np.ndarray] = {}
        for name, conds in self.conditions:
            m = np.ones(u.shape[0], dtype=bool)
            for parent, allowed in conds:
                m &= out[parent] & np.isin(self.parent_values(u, parent), allowed)
            out[name] = m
        return out

    def project(self, u: np.ndarray) -> np.ndarray:
        """``encode(decode(u))`` for every row of ``u`` (shape ``(m, dim)``)."""
        out = np.clip(np.nan_to_num(np.array(u, dtype=float, ndmin=2), nan=0.5), 0.0, 1.0)
        for col, p in self.integers:
            lo, hi = p.low - 0.5, p.high + 0.5
            if p.log:
                x = np.exp(math.log(lo) + out[:, col] * (math.log(hi) - math.log(lo)))
            else:
                x = lo + out[:, col] * (hi - lo)
            k = np.clip(np.round(x), p.low, p.high)
            out[:, col] = (np.log(k) - math.log(lo)) / (math.log(hi) - math.log(lo)) if p.log else (k - lo) / (hi - lo)
        for s in self.blocks:
            block = np.zeros((out.shape[0], s.stop - s.start))
            block[np.arange(out.shape[0]), np.argmax(out[:, s], axis=1)] = 1.0
            out[:, s] = block
        if self.conditional:
            for name, active in self.active_mask(out).items():
                s = self.space.slice_of(name)
                fill = 0.0 if isinstance(self.space.params[name], Choice) else INACTIVE_FILL
                out[~active, s] = fill
        return out

    def from_raw(self, raw: np.ndarray) -> np.ndarray:
        """Map points with one column per *parameter* in ``[0, 1)`` to valid encodings.

        A `Choice` column picks option ``floor(u * n_options)`` (balanced options, as `Space.sobol`).
        """
        out = np.zeros((raw.shape[0], self.dim))
        for j, (name, p) in enumerate(self.space.params.items()):
            s = self.space.slice_of(name)
            if isinstance(p, Choice):
                k = np.minimum((raw[:, j] * p.width).astype(int), p.width - 1)
                out[np.arange(raw.shape[0]), s.start + k] = 1.0
            else:
                out[:, s.start] = raw[:, j]
        return self.project(out)

    def sobol(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """A scrambled Sobol set of ``n`` valid encodings (first ``n`` of ``2^ceil(log2 n)``), shape ``(n, dim)``."""
        m = max(1, math.ceil(math.log2(max(n, 2))))
        raw = qmc.Sobol(d=len(self.space.params), scramble=True, seed=rng).random_base2(m)[:n]
        return self.from_raw(raw)

    def random(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` uniform random valid encodings."""
        return self.from_raw(rng.random((n, len(self.space.params))))

    def perturb(self, centers: np.ndarray, n_each: int, rng: np.random.Generator,
                scales: tuple[float, ...] = (0.01, 0.05, 0.2)) -> np.ndarray:
        """Local candidates around each centre: Gaussian steps on the continuous columns (a mix of
        scales) and, with probability 1/4 per `Choice`, a resampled option. Shape ``(k * n_each, dim)``."""
        if len(centers) == 0:
            return np.empty((0, self.dim))
        reps = np.repeat(np.atleast_2d(centers), n_each, axis=0)
        scale = rng.choice(np.array(scales), size=(reps.shape[0], 1))
        out = reps.copy()
        cols = np.array(self.continuous, dtype=int)
        if cols.size:
            # Move a random subset of coordinates (at least one), like a coordinate-wise local search.
            mask = rng.random((reps.shape[0], cols.size)) < max(0.5, 1.0 / cols.size)
            mask[np.arange(reps.shape[0]), rng.integers(0, cols.size, reps.shape[0])] = True
            out[:, cols] = reps[:, cols] + mask * scale * rng.normal(size=(reps.shape[0], cols.size))
        for s in self.blocks:
            flip = rng.random(reps.shape[0]) < 0.25
            k = rng.integers(0, s.stop - s.start, reps.shape[0])
            block = out[:, s]
            block[flip] = 0.0
            block[np.flatnonzero(flip), k[flip]] = 1.0
            out[:, s] = block
        return self.project(out)


def real_columns(space: Space) -> list[int]:
    """Encoded columns of the `Real` parameters."""
    return [space.slice_of(n).start for n, p in space.params.items() if isinstance(p, Real)]


def _same(a: object, b: object) -> bool:
    # The equality `Space` uses for conditions: 1 is not True.
    if isinstance(a, bool) != isinstance(b, bool):
        return False
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False

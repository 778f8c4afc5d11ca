"""The GP on a conditional space: an arc embedding of conditional parameters (Swersky et al., 2014).

In a conditional space (``Real(..., when={"kernel": ["rbf"]})``) a parameter may be *inactive*: the
objective does not read it. A GP that sees an inactive parameter at some filler value treats the
filler as a value of the parameter, so points that differ only in a parameter nobody read look
different, and points where it is inactive look like points where it sits at the filler. This module
follows the *arc kernel* of Swersky, Duvenaud, Snoek, Hutter & Osborne (2014), "Raiders of the Lost
Architecture: Kernels for Bayesian Optimization in Conditional Parameter Spaces" (arXiv 1409.4011):
each conditional `Real` / `Integer` coordinate ``u`` in ``[0, 1]`` is mapped to a point of a quarter
circle of radius ``R`` centred at the origin,

    active:   ``z = R (cos(pi u / 2), sin(pi u / 2))``,        inactive:   ``z = (0, 0)``,

and the usual Matérn-5/2 ARD kernel is applied to the embedded inputs, with the two columns of each
embedded parameter sharing one lengthscale. Hence

* two points where the parameter is inactive are at distance 0 in its columns (it is irrelevant to
  their covariance),
* a point where it is active and one where it is not are at distance ``R`` whatever the active value
  (inactive is *no* value of the parameter),
* two active points are at the chord distance ``2 R sin(pi |u - u'| / 4)``, increasing in
  ``|u - u'|``; ``R = 2 / pi`` makes the arc length per unit of ``u`` equal to 1, so a lengthscale
  means about what it means in the unit cube.

A parameter active under several values of a parent (``gamma`` under the rbf, poly and sigmoid
kernels) gets one arc by default, so what is learnt about it under one kernel carries to the others;
``ArcEmbedding(enc, split_shared=True)`` (``GPConfig.split_shared``) gives it one arc, and one
lengthscale, per value instead, active only where the parent takes that value. On the SVC benchmark's
development seeds the split did worse (median 0.9883 against 0.9905), so sharing is the default.

A conditional `Choice` keeps its one-hot block, all zeros when inactive: inactive is then one more
point, at the same distance from every option. A feature map followed by a positive-definite
kernel is positive definite, so the GP code is unchanged.

Why the arc embedding rather than an "active" indicator column with the inactive coordinate set
to a constant: with the indicator, the distance between an active and an inactive point still
depends on where the active value lies relative to the constant, i.e. the constant is still read as
a value. Swersky et al. learn the arc's angle and radius per parameter; we fix them (angle pi/2,
radius 2/pi) and learn only the shared lengthscale, which keeps the hyperparameter count at one per
parameter, as in the plain GP, and fits the small budgets BO runs at.
"""

from __future__ import annotations

import itertools
import math

import numpy as np

from guardopt.bo.encoding import EncodedSpace
from guardopt.bo.gp import (
    JITTER,
    GaussianProcess,
    central_difference_prediction_grad,
    check_gp_data,
    factorize,
    matern52,
)
from guardopt.core.errors import InputDataError
from guardopt.core.space import Choice

ARC_ANGLE = math.pi / 2
ARC_RADIUS = 1.0 / ARC_ANGLE  # arc length 1 per unit of the encoded coordinate


class ArcEmbedding:
    """Map valid encodings of a conditional space to the GP's inputs (see the module docstring).

    Attributes:
        dim: Width of the embedded inputs (the encoded width plus one per conditional `Real` / `Integer`).
        groups: Lengthscale index of each embedded column, shape ``(dim,)``: the two columns of an arc
            share one; every other column has its own.
    """

    def __init__(self, enc: EncodedSpace, split_shared: bool = False) -> None:
        self.enc = enc
        space = enc.space
        # (name, encoded columns, "copy" | "arc" | "block", branch): with ``split_shared`` a Real /
        # Integer active under several values of a parent gets one arc per value, ``branch`` being
        # the (parent, value index) pairs that select it; otherwise ``branch`` is empty.
        self._plan: list[tuple[str, slice, str, tuple[tuple[str, int], ...]]] = []
        conds = dict(enc.conditions)
        groups: list[int] = []
        for name, p in space.params.items():
            s = space.slice_of(name)
            if not space.conditions_of(name):
                kind = "copy"
            elif isinstance(p, Choice):
                kind = "block"
            else:
                kind = "arc"
            if kind != "arc":
                self._plan.append((name, s, kind, ()))
                for _ in range(s.stop - s.start):
                    groups.append(len(set(groups)))
                continue
            shared = [(parent, allowed) for parent, allowed in conds[name] if split_shared and allowed.size > 1]
            for branch in itertools.product(*[[(parent, int(v)) for v in allowed] for parent, allowed in shared]):
                self._plan.append((name, s, kind, tuple(branch)))
                groups += [len(set(groups))] * 2
        self.groups = np.array(groups, dtype=int)
        self.dim = int(self.groups.size)

    def __call__(self, u: np.ndarray) -> np.ndarray:
        """Embed valid encodings ``u`` (``(m, enc.dim)``) to shape ``(m, dim)``."""
        u = np.atleast_2d(np.asarray(u, dtype=float))
        active = self.enc.active_mask(u)
        parents: dict[str, np.ndarray] = {}  # a parent's values, computed once for all its branches
        cols: list[np.ndarray] = []
        for name, s, kind, branch in self._plan:
            if kind == "copy":
                cols.append(u[:, s])
            elif kind == "block":
                cols.append(u[:, s] * active[name][:, None])
            else:
                angle = ARC_ANGLE * u[:, s.start]
                on_branch = active[name].copy()
                for parent, value in branch:
                    if parent not in parents:
                        parents[parent] = self.enc.parent_values(u, parent)
                    on_branch &= parents[parent] == value
                on = ARC_RADIUS * on_branch
                cols.append(np.stack([on * np.cos(angle), on * np.sin(angle)], axis=1))
        return np.hstack(cols)


class ConditionalGP(GaussianProcess):
    """`GaussianProcess` on arc-embedded inputs; takes and predicts at encodings of the space.

    Args:
        x: Training inputs: valid encodings of the space, shape ``(n, d)``.
        y: Standardized outputs, shape ``(n,)``.
        theta: ``(log l (embedding.dim), log s^2, log sigma^2)`` (tied lengthscales repeated).
        embedding: The `ArcEmbedding` of the space.
    """

    def __init__(self, x: np.ndarray, y: np.ndarray, theta: np.ndarray, embedding: ArcEmbedding) -> None:
        d = embedding.enc.dim
        self.x, self.y, self.theta = check_gp_data(x, y, theta, "ConditionalGP", extra=embedding.dim - d + 2)
        if self.x.shape[1] != d:
            raise InputDataError(f"The 'x' argument of ConditionalGP must have shape (n, {d}), valid encodings of "
                                 f"the space. Got {self.x.shape}.")
        self.embedding = embedding
        k = embedding.dim
        self.lengthscales = np.exp(self.theta[:k])
        self.signal_var = math.exp(self.theta[k])
        self.noise_var = math.exp(self.theta[k + 1])
        self._z = embedding(self.x)
        n = self.x.shape[0]
        kmat = matern52(self._z, self._z, self.lengthscales, self.signal_var) + (self.noise_var + JITTER) * np.eye(n)
        self.chol, self.mean_const, self.alpha = factorize(kmat, self.y)

    def kernel(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        za = self._z if a is self.x else self.embedding(a)
        zb = self._z if b is self.x else self.embedding(b)
        return matern52(za, zb, self.lengthscales, self.signal_var)

    def predict_with_grad(self, x: np.ndarray) -> tuple[float, float, np.ndarray, np.ndarray]:
        return central_difference_prediction_grad(self.predict, x)

    def condition_on(self, x_new: np.ndarray, y_new: np.ndarray) -> ConditionalGP:
        return ConditionalGP(np.vstack([self.x, np.atleast_2d(x_new)]), np.concatenate([self.y, np.atleast_1d(y_new)]),
                             self.theta, self.embedding)

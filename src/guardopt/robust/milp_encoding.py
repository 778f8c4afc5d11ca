"""The Neur2RO master problem as a mixed-integer linear program for scipy's HiGHS (`scipy.optimize.milp`).

Neur2RO (Dumouchelle et al., ICLR 2024, Sec. 4) embeds its value network in the CCG master problem

    min_{x ∈ {0,1}^n, θ}  c·x + θ   s.t.  θ ≥ s·NN(x, ξ_k)  for every scenario ξ_k found so far,

where ``s`` is the problem's value scale. The network (`guardopt.robust.set_encoder`) is a set
encoder: a per-item ReLU network on ``[x_i, features_i]``, a mean over items, a post-aggregation
network giving the x-embedding; the same on ``[ξ_i, features_i]`` for the ξ-embedding; a value
network on the two embeddings.

Why this encoding is small: ``x_i`` is binary, so item i's embedding takes only two values and is
*affine* in ``x_i``, ``e_i(x_i) = e_i(0) + x_i (e_i(1) − e_i(0))``; so is the mean over items. Only
the post-aggregation ReLUs (once) and the value network's ReLUs (once per scenario) need binaries.
Each scenario's ξ-embedding is a constant. A ReLU ``h = max(0, a)`` with pre-activation bounds
``L < 0 < U`` is encoded with one binary ``z`` (big-M with M = the bounds):

    h ≥ a,  h ≥ 0,  h ≤ a − L (1 − z),  h ≤ U z;

a ReLU with ``U ≤ 0`` is the constant 0 and one with ``L ≥ 0`` is ``h = a`` (no binary). The bounds
come from interval arithmetic over ``x ∈ [0, 1]^n``, so they are valid for every binary ``x`` and
tighter than a fixed M.

The worst case over the scenarios is the epigraph ``θ ≥ s·NN_k``: for a minimization of a maximum
it is exact, so the paper's binary argmax selector (needed when the second-stage variables are kept
in the master) is not needed here.

Everything in this module is numpy: the network's weights are passed as `NetworkWeights`.
"""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import InputDataError, InvalidParameterError, as_float_array, check_in_range

__all__ = [
    "Layer",
    "MasterSolution",
    "NetworkWeights",
    "embedding",
    "item_embeddings",
    "mlp_forward",
    "predict",
    "solve_master",
]

Layer = tuple[np.ndarray, np.ndarray]
"""One linear layer ``(W, b)``: ``W`` of shape ``(out, in)``, ``b`` of shape ``(out,)``."""

_HIGHS_INF = 1e20  # HiGHS's kHighsInf: a bound this large reads as infinite
_HIGHS_LARGE_COEF = 1e15  # HiGHS's large_matrix_value: a constraint coefficient this large is a "Model error"


@dataclass(frozen=True)
class NetworkWeights:
    """The set encoder's weights as numpy arrays (see `guardopt.robust.set_encoder.SetEncoder.weights`).

    Attributes:
        x_embed, xi_embed: Per-item layers; every one is followed by a ReLU.
        x_post, xi_post: Post-aggregation layers; ReLU after each but the last (linear output).
        value: Value network layers on ``[x-embedding, ξ-embedding]``; ReLU after each but the last,
            whose output width is 1.
    """

    x_embed: tuple[Layer, ...]
    x_post: tuple[Layer, ...]
    xi_embed: tuple[Layer, ...]
    xi_post: tuple[Layer, ...]
    value: tuple[Layer, ...]

    def __post_init__(self) -> None:
        for name in ("x_embed", "x_post", "xi_embed", "xi_post", "value"):
            layers = getattr(self, name)
            if not isinstance(layers, (tuple, list)) or not layers:
                raise InvalidParameterError(name, "NetworkWeights", "a non-empty tuple of (W, b) layers", layers)
            clean = []
            for layer in layers:
                if not isinstance(layer, (tuple, list)) or len(layer) != 2:
                    raise InvalidParameterError(name, "NetworkWeights", "a tuple of (W, b) layers", layer)
                w, b = layer
                w = as_float_array(w, name, "NetworkWeights", finite=True)
                b = as_float_array(b, name, "NetworkWeights", finite=True)
                if w.ndim != 2 or b.shape != (w.shape[0],):
                    raise InputDataError(f"The {name!r} argument of NetworkWeights has a layer with W {w.shape} "
                                         f"and b {b.shape}; expected W (out, in) and b (out,).")
                clean.append((w, b))
            for (w0, _), (w1, _) in itertools.pairwise(clean):
                if w1.shape[1] != w0.shape[0]:
                    raise InputDataError(f"The {name!r} argument of NetworkWeights has mismatched layer widths.")
            object.__setattr__(self, name, tuple(clean))
        # Across the parts: both per-item networks read [value_i, features_i] of one width, and each
        # post-aggregation network reads its per-item network's output (predict would fail in numpy).
        if self.xi_embed[0][0].shape[1] != self.x_embed[0][0].shape[1]:
            raise InputDataError("The 'xi_embed' argument of NetworkWeights must read as many inputs as 'x_embed'.")
        for embed, post in (("x_embed", "x_post"), ("xi_embed", "xi_post")):
            if getattr(self, post)[0][0].shape[1] != getattr(self, embed)[-1][0].shape[0]:
                raise InputDataError(f"The {post!r} argument of NetworkWeights must read the output of {embed!r}.")
        if self.value[-1][0].shape[0] != 1:
            raise InputDataError("The 'value' argument of NetworkWeights must end in one output.")
        if self.value[0][0].shape[1] != self.x_post[-1][0].shape[0] + self.xi_post[-1][0].shape[0]:
            raise InputDataError("The 'value' argument of NetworkWeights must read both embeddings.")


def mlp_forward(layers: Sequence[Layer], h: np.ndarray, relu_last: bool) -> np.ndarray:
    """Apply linear layers with ReLUs between them (and after the last when ``relu_last``); ``h`` is ``(..., in)``."""
    for j, (w, b) in enumerate(layers):
        h = h @ w.T + b
        if relu_last or j < len(layers) - 1:
            h = np.maximum(h, 0.0)
    return h


def item_embeddings(layers: Sequence[Layer], values: np.ndarray, features: np.ndarray) -> np.ndarray:
    """Per-item embeddings of ``[values_i, features_i]``: values ``(..., n)``, features ``(n, F)`` → ``(..., n, d)``."""
    v = np.asarray(values, dtype=float)
    f = np.broadcast_to(features, (*v.shape, features.shape[1]))
    return mlp_forward(layers, np.concatenate([v[..., None], f], axis=-1), relu_last=True)


def embedding(embed: Sequence[Layer], post: Sequence[Layer], values: np.ndarray, features: np.ndarray) -> np.ndarray:
    """A set embedding: per-item network, mean over items, post-aggregation network. ``(..., n)`` → ``(..., d)``."""
    return mlp_forward(post, item_embeddings(embed, values, features).mean(axis=-2), relu_last=False)


def _check_network_input(weights: object, features: np.ndarray, owner: str) -> None:
    """`weights` is a `NetworkWeights` whose per-item networks read ``[value_i, features_i]``."""
    if not isinstance(weights, NetworkWeights):
        raise InvalidParameterError("weights", owner, "a NetworkWeights", type(weights).__name__)
    width = weights.x_embed[0][0].shape[1] - 1
    if features.ndim != 2 or features.shape[1] != width:
        raise InputDataError(f"The 'features' argument of {owner} must have shape (n, {width}) (the network's "
                             f"feature width). Got {features.shape} instead.")


def predict(weights: NetworkWeights, x: np.ndarray, xi: np.ndarray, features: np.ndarray) -> np.ndarray:
    """The network's normalized prediction ``NN(x, ξ)``; ``x, ξ`` of shape ``(..., n)`` → ``(...)``."""
    owner = "predict"
    feats = as_float_array(features, "features", owner, finite=True)
    _check_network_input(weights, feats, owner)
    xv = as_float_array(x, "x", owner, finite=True)
    xiv = as_float_array(xi, "xi", owner, finite=True)
    n = feats.shape[0]
    for name, v in (("x", xv), ("xi", xiv)):
        if v.ndim < 1 or v.shape[-1] != n:
            raise InputDataError(f"The {name!r} argument of {owner} must have shape (..., {n}). Got {v.shape} instead.")
    ex = embedding(weights.x_embed, weights.x_post, xv, feats)
    exi = embedding(weights.xi_embed, weights.xi_post, xiv, feats)
    try:
        ex, exi = np.broadcast_arrays(ex, exi)
    except ValueError as exc:
        raise InputDataError(f"The 'x' and 'xi' arguments of {owner} must broadcast. Got {xv.shape} and "
                             f"{xiv.shape} instead.") from exc
    return mlp_forward(weights.value, np.concatenate([ex, exi], axis=-1), relu_last=False)[..., 0]


@dataclass(frozen=True)
class MasterSolution:
    """The master problem's optimum.

    Attributes:
        x: The decision, shape ``(n,)`` (0/1 floats).
        theta: The epigraph variable: the master's worst predicted second-stage value (scaled).
        objective: ``c·x + θ``.
        predicted: ``s·NN(x, ξ_k)`` per scenario as the MILP sees it, shape ``(k,)``.
        binaries: Binaries in the MILP (``n`` plus one per unstable ReLU).
        status: HiGHS's status message.
        seconds: Wall time of the solve.
        mip_gap: The relative gap HiGHS reports.
    """

    x: np.ndarray
    theta: float
    objective: float
    predicted: np.ndarray
    binaries: int
    status: str
    seconds: float
    mip_gap: float


class _Builder:
    """Rows of ``lb ≤ A v ≤ ub`` over a growing list of variables with bounds and integrality."""

    def __init__(self) -> None:
        self.lo: list[float] = []
        self.hi: list[float] = []
        self.integer: list[int] = []
        self.rows: list[tuple[dict[int, float], float, float]] = []

    def var(self, lo: float, hi: float, integer: bool = False) -> int:
        self.lo.append(lo)
        self.hi.append(hi)
        self.integer.append(int(integer))
        return len(self.lo) - 1

    def row(self, coefs: dict[int, float], lo: float, hi: float) -> None:
        self.rows.append((coefs, lo, hi))


@dataclass
class _Affine:
    """``d`` linear expressions ``const + coef @ v`` over the builder's variables (coef is sparse-ish dense)."""

    const: np.ndarray  # (d,)
    coef: dict[int, np.ndarray]  # variable index -> (d,) coefficients

    def bounds(self, lo: list[float], hi: list[float]) -> tuple[np.ndarray, np.ndarray]:
        low = self.const.copy()
        high = self.const.copy()
        for j, col in self.coef.items():
            low += np.where(col > 0, col * lo[j], col * hi[j])
            high += np.where(col > 0, col * hi[j], col * lo[j])
        return low, high

    def linear(self, w: np.ndarray, b: np.ndarray) -> _Affine:
        return _Affine(w @ self.const + b, {j: w @ col for j, col in self.coef.items()})


def _relu(expr: _Affine, builder: _Builder, stats: dict[str, int]) -> _Affine:
    """Encode ``max(0, expr)`` unit by unit; stable units need no variable."""
    low, high = expr.bounds(builder.lo, builder.hi)
    d = expr.const.size
    const = np.zeros(d)
    coef: dict[int, np.ndarray] = {}
    for u in range(d):
        lo_u, hi_u = float(low[u]), float(high[u])
        if hi_u <= 0.0:
            continue  # always inactive: the constant 0
        if lo_u >= 0.0:  # always active: h = a
            const[u] = expr.const[u]
            for j, col in expr.coef.items():
                if col[u] != 0.0:
                    coef.setdefault(j, np.zeros(d))[u] = col[u]
            continue
        h = builder.var(0.0, hi_u)
        z = builder.var(0.0, 1.0, integer=True)
        stats["relu_binaries"] += 1
        a_coefs = {j: float(col[u]) for j, col in expr.coef.items() if col[u] != 0.0}
        a0 = float(expr.const[u])
        # h - a >= 0
        builder.row({h: 1.0, **{j: -c for j, c in a_coefs.items()}}, a0, math.inf)
        # h - a - L z <= -L  (h <= a - L(1 - z))
        builder.row({h: 1.0, z: -lo_u, **{j: -c for j, c in a_coefs.items()}}, -math.inf, -lo_u + a0)
        # h - U z <= 0
        builder.row({h: 1.0, z: -hi_u}, -math.inf, 0.0)
        coef.setdefault(h, np.zeros(d))[u] = 1.0
    return _Affine(const, coef)


def _mlp(expr: _Affine, layers: Sequence[Layer], builder: _Builder, stats: dict[str, int]) -> _Affine:
    for j, (w, b) in enumerate(layers):
        expr = expr.linear(w, b)
        if j < len(layers) - 1:
            expr = _relu(expr, builder, stats)
    return expr


def solve_master(weights: NetworkWeights, features: np.ndarray, first_stage_cost: np.ndarray, scale: float,
                 scenarios: np.ndarray, mip_gap: float = 1e-3, time_limit: float = 60.0) -> MasterSolution:
    """Solve ``min_x c·x + max_k s·NN(x, ξ_k)`` exactly (to ``mip_gap``) with HiGHS.

    Args:
        weights: The trained network.
        features: Per-item features, shape ``(n, F)``.
        first_stage_cost: ``c``, shape ``(n,)``.
        scale: ``s > 0``: the network predicts ``Q / s``.
        scenarios: The scenarios ``ξ_k`` found so far, shape ``(k, n)``, ``k ≥ 1``.
        mip_gap: Relative MIP gap.
        time_limit: Seconds for HiGHS.
    """
    from scipy.optimize import Bounds, LinearConstraint, milp
    from scipy.sparse import coo_matrix

    owner = "solve_master"
    feats = as_float_array(features, "features", owner, finite=True)
    cost = as_float_array(first_stage_cost, "first_stage_cost", owner, finite=True)
    scen = np.atleast_2d(as_float_array(scenarios, "scenarios", owner, finite=True))
    n = cost.size
    if cost.ndim != 1 or n < 1 or feats.ndim != 2 or feats.shape[0] != n:
        raise InputDataError(f"The 'features' argument of {owner} must have shape ({n}, F) matching "
                             f"'first_stage_cost' ({n},). Got {feats.shape} instead.")
    if scen.ndim != 2 or scen.shape[1] != n or scen.shape[0] < 1:
        raise InputDataError(f"The 'scenarios' argument of {owner} must have shape (k, {n}) with k >= 1. "
                             f"Got {scen.shape} instead.")
    _check_network_input(weights, feats, owner)
    scale = check_in_range(scale, "scale", owner, 0.0)
    # HiGHS ignores an out-of-range gap or time limit with a warning and would report "Optimal".
    mip_gap = check_in_range(mip_gap, "mip_gap", owner, 0.0, 1.0, low_open=False, high_open=False)
    time_limit = check_in_range(time_limit, "time_limit", owner, 0.0, math.inf, high_open=False)
    t0 = time.perf_counter()
    b = _Builder()
    stats = {"relu_binaries": 0}
    xs = [b.var(0.0, 1.0, integer=True) for _ in range(n)]
    theta = b.var(-math.inf, math.inf)
    # Affine-in-x mean embedding: u = mean_i e_i(0) + sum_i x_i (e_i(1) - e_i(0)) / n.
    e0 = item_embeddings(weights.x_embed, np.zeros(n), feats)  # (n, d)
    e1 = item_embeddings(weights.x_embed, np.ones(n), feats)
    u = _Affine(e0.mean(axis=0), {xs[i]: (e1[i] - e0[i]) / n for i in range(n)})
    ex = _mlp(u, weights.x_post, b, stats)
    xi_emb = embedding(weights.xi_embed, weights.xi_post, scen, feats)  # (k, d')
    outs: list[_Affine] = []
    d_x = ex.const.size
    w_v0, b_v0 = weights.value[0]
    for k in range(scen.shape[0]):
        # First value layer: W [e_x; e_xi_k] + b = W_x e_x + (W_xi e_xi_k + b).
        first = ex.linear(w_v0[:, :d_x], b_v0 + w_v0[:, d_x:] @ xi_emb[k])
        out = _mlp(first, ((np.eye(first.const.size), np.zeros(first.const.size)), *weights.value[1:]), b, stats) \
            if len(weights.value) > 1 else first
        outs.append(out)
        # theta - s * out_k >= 0
        coefs = {theta: 1.0}
        for j, col in out.coef.items():
            coefs[j] = coefs.get(j, 0.0) - scale * float(col[0])
        row_lo = scale * float(out.const[0])
        # HiGHS refuses a coefficient of 1e15 or more ("Model error") and reads a bound of 1e20 or more as
        # infinite (dropping the row); a huge scale (1e308) would even overflow to inf here.
        if not (abs(row_lo) < _HIGHS_INF and all(abs(a) < _HIGHS_LARGE_COEF for a in coefs.values())):
            raise InvalidParameterError("scale", owner, f"small enough that scale times the network's output "
                                        f"stays within HiGHS's limits (coefficients below {_HIGHS_LARGE_COEF:g}, "
                                        f"constants below {_HIGHS_INF:g})", scale)
        b.row(coefs, row_lo, math.inf)
    nv = len(b.lo)
    c = np.zeros(nv)
    c[xs] = cost
    c[theta] = 1.0
    rr, cc, vv, lo_rows, hi_rows = [], [], [], [], []
    for r, (coefs, lo, hi) in enumerate(b.rows):
        for j, v in coefs.items():
            rr.append(r)
            cc.append(j)
            vv.append(v)
        lo_rows.append(lo)
        hi_rows.append(hi)
    a = coo_matrix((vv, (rr, cc)), shape=(len(b.rows), nv)).tocsr()
    res = milp(c, integrality=np.array(b.integer), bounds=Bounds(np.array(b.lo), np.array(b.hi)),
               constraints=LinearConstraint(a, np.array(lo_rows), np.array(hi_rows)),
               options={"mip_rel_gap": float(mip_gap), "time_limit": float(time_limit), "presolve": True})
    if res.x is None:
        if res.status == 1:  # scipy's milp: iteration or time limit reached before any feasible point
            raise InputDataError(f"{owner}: HiGHS found no solution within the 'time_limit' of {float(time_limit):g} s "
                                 f"({res.message}); raise it.")
        raise InputDataError(f"{owner}: HiGHS found no solution ({res.message}).")
    v = res.x
    x = np.round(v[xs]).astype(float) + 0.0  # + 0.0: no -0. entries
    predicted = np.array([scale * float(o.const[0] + sum(col[0] * v[j] for j, col in o.coef.items())) for o in outs])
    gap = float(getattr(res, "mip_gap", math.nan))
    return MasterSolution(x=x, theta=float(v[theta]), objective=float(res.fun), predicted=predicted,
                          binaries=n + stats["relu_binaries"], status=str(res.message),
                          seconds=time.perf_counter() - t0, mip_gap=gap)

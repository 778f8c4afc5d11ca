"""The GP on conditional spaces: projection, the arc embedding, tied lengthscales, the optimizer loop."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import approx_fprime

import guardopt as go
from guardopt.bo.conditional import ARC_RADIUS, ArcEmbedding, ConditionalGP
from guardopt.bo.encoding import EncodedSpace
from guardopt.bo.gp import GaussianProcess, GPPrior, fit_hyperparameters, neg_log_likelihood
from guardopt.bo.optimizer import GPOptimizer
from guardopt.core import UnsupportedError
from guardopt.testing.contracts import adversarial_arrays, adversarial_scalars, assert_contract, contract_settings


def space() -> go.Space:
    return go.Space({
        "kernel": go.Choice(["linear", "rbf", "poly"]),
        "C": go.Real(1e-3, 1e3, log=True),
        "gamma": go.Real(1e-4, 1.0, log=True, when={"kernel": ["rbf", "poly"]}),
        "degree": go.Integer(2, 5, when={"kernel": "poly"}),
        "coef0": go.Real(0.0, 1.0, when={"degree": [3, 4]}),
        "sub": go.Choice(["a", "b"], when={"kernel": ["rbf"]}),
    })


def test_project_equals_the_scalar_round_trip() -> None:
    s = space()
    enc = EncodedSpace(s)
    u = np.random.default_rng(0).random((300, s.dim))
    proj = enc.project(u)
    expected = np.array([s.encode(s.decode(row)) for row in u])
    np.testing.assert_allclose(proj, expected, atol=1e-12)
    masks = enc.active_mask(proj)
    for i in range(len(u)):
        p = s.decode(u[i])
        assert [n for n in s.names if masks[n][i]] == list(p)


def test_arc_embedding_distances_by_hand() -> None:
    s = go.Space({"k": go.Choice(["off", "on"]), "x": go.Real(0.0, 1.0, when={"k": ["on"]})})
    emb = ArcEmbedding(EncodedSpace(s))
    assert emb.dim == 4 and emb.groups.tolist() == [0, 1, 2, 2]
    z = emb(np.array([s.encode({"k": "off"}), s.encode({"k": "on", "x": 0.0}), s.encode({"k": "on", "x": 1.0}),
                      s.encode({"k": "on", "x": 0.37})]))
    # inactive: the arc columns are the origin; active: a quarter circle of radius 2/pi
    np.testing.assert_allclose(z[0], [1, 0, 0, 0])
    np.testing.assert_allclose(z[1], [0, 1, 2 / math.pi, 0])
    np.testing.assert_allclose(z[2], [0, 1, 0, 2 / math.pi], atol=1e-15)
    arc = z[:, 2:]
    # active vs inactive: the radius, whatever the value; active vs active: the chord 2R sin(pi |du| / 4)
    for i in (1, 2, 3):
        assert np.linalg.norm(arc[i] - arc[0]) == pytest.approx(ARC_RADIUS)
    assert np.linalg.norm(arc[1] - arc[2]) == pytest.approx(2 * (2 / math.pi) * math.sin(math.pi / 4))
    assert np.linalg.norm(arc[1] - arc[3]) == pytest.approx(2 * (2 / math.pi) * math.sin(math.pi * 0.37 / 4))


def test_split_shared_gives_one_arc_per_parent_option_by_hand() -> None:
    s = go.Space({"k": go.Choice(["lin", "rbf", "poly"]),
                  "g": go.Real(0.0, 1.0, when={"k": ["rbf", "poly"]}),
                  "d": go.Real(0.0, 1.0, when={"k": ["poly"]})})
    enc = EncodedSpace(s)
    shared, split = ArcEmbedding(enc), ArcEmbedding(enc, split_shared=True)
    # shared: one-hot k (3), arc g (2), arc d (2); split: one-hot k, arc g|rbf, arc g|poly, arc d
    assert shared.groups.tolist() == [0, 1, 2, 3, 3, 4, 4]
    assert split.groups.tolist() == [0, 1, 2, 3, 3, 4, 4, 5, 5]
    pts = [{"k": "lin"}, {"k": "rbf", "g": 0.0}, {"k": "poly", "g": 1.0, "d": 0.0}]
    z = split(np.array([s.encode(p) for p in pts]))
    r = 2 / math.pi
    np.testing.assert_allclose(z[0], [1, 0, 0, 0, 0, 0, 0, 0, 0])
    np.testing.assert_allclose(z[1], [0, 1, 0, r, 0, 0, 0, 0, 0], atol=1e-15)  # g on rbf's arc only
    np.testing.assert_allclose(z[2], [0, 0, 1, 0, 0, 0, r, r, 0], atol=1e-15)  # g on poly's arc; d's own
    # with one allowed option per condition there is nothing to split: the same embedding
    one = go.Space({"k": go.Choice(["off", "on"]), "x": go.Real(0.0, 1.0, when={"k": ["on"]})})
    u = np.array([one.encode({"k": "on", "x": 0.3}), one.encode({"k": "off"})])
    e1 = EncodedSpace(one)
    np.testing.assert_array_equal(ArcEmbedding(e1)(u), ArcEmbedding(e1, split_shared=True)(u))


def test_split_shared_runs_in_the_optimizer() -> None:
    s = space()

    def f(p: dict) -> float:
        return (math.log10(p["C"]) - 1) ** 2 + (math.log10(p["gamma"]) + 2) ** 2 if "gamma" in p else 5.0

    study = go.Study(s, optimizer=GPOptimizer(seed=3, n_initial=6, n_candidates=128, n_local=8,
                                              split_shared=True))
    study.optimize(f, n_trials=10)
    assert len(study.trials) == 10 and all(t.state.name == "COMPLETE" for t in study.trials)
    # shared: kernel 3 + C 1 + arcs of gamma, degree, coef0 (2 each) + sub 2 = 12; split: gamma gets an
    # arc for rbf and one for poly, coef0 one for degree 3 and one for degree 4: 16
    assert ArcEmbedding(EncodedSpace(s)).dim == 12
    assert study.optimizer._embed is not None and study.optimizer._embed.dim == 16


def test_inactive_parameter_does_not_change_the_posterior() -> None:
    # All training points have x inactive: the GP must predict at inactive points exactly as a plain
    # GP on the other columns does (the arc columns are all zero, so they drop out of every distance).
    s = go.Space({"k": go.Choice(["off", "on"]), "y": go.Real(0.0, 1.0), "x": go.Real(0.0, 1.0, when={"k": ["on"]})})
    enc = EncodedSpace(s)
    emb = ArcEmbedding(enc)
    rng = np.random.default_rng(1)
    train = [s.encode({"k": "off", "y": float(v)}) for v in rng.random(6)]
    y = rng.normal(size=6)
    theta = np.array([0.1, -0.2, -0.5, 0.3, 0.3, 0.2, math.log(1e-3)])  # ls: k0, k1, y, arc(x) x2; sf2; noise
    gp = ConditionalGP(np.array(train), y, theta, emb)
    plain = GaussianProcess(np.array(train)[:, :3], y, np.concatenate([theta[:3], theta[5:]]))
    test = np.array([s.encode({"k": "off", "y": float(v)}) for v in rng.random(5)])
    for a, b in zip(gp.predict(test), plain.predict(test[:, :3]), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-10)
    # the covariance between an inactive and an active point does not depend on the active value
    off = s.encode({"k": "off", "y": 0.5})
    ks = [gp.kernel(off[None, :], s.encode({"k": "on", "y": 0.5, "x": v})[None, :])[0, 0] for v in (0.0, 0.3, 1.0)]
    np.testing.assert_allclose(ks, ks[0], rtol=1e-12)
    # conditioning keeps the embedding
    assert isinstance(gp.condition_on(test[:1], np.array([0.0])), ConditionalGP)


def test_tied_fit_gradient_and_equal_lengthscales() -> None:
    rng = np.random.default_rng(2)
    x = rng.random((12, 4))
    y = np.sin(3 * x[:, 0]) + x[:, 2] * x[:, 3]
    groups = np.array([0, 1, 2, 2])
    theta = fit_hyperparameters(x, y, GPPrior(), [GPPrior().initial_theta(4)], groups=groups)
    assert theta.shape == (6,) and theta[2] == theta[3]
    # the reduced objective's analytic gradient is the column gradients summed per group
    t = np.array([0.1, -0.3, 0.2, 0.0, math.log(1e-2)])

    def reduced(tr: np.ndarray) -> float:
        return neg_log_likelihood(np.concatenate([tr[:3][groups], tr[3:]]), x, y)[0]

    full_grad = neg_log_likelihood(np.concatenate([t[:3][groups], t[3:]]), x, y)[1]
    analytic = np.concatenate([np.bincount(groups, weights=full_grad[:4]), full_grad[4:]])
    np.testing.assert_allclose(analytic, approx_fprime(t, reduced, 1e-6), rtol=1e-4, atol=1e-5)


def test_gp_optimizer_asks_only_active_parameters_and_is_reproducible() -> None:
    s = space()

    def f(p: dict) -> float:
        v = (math.log10(p["C"]) - 1) ** 2
        if p["kernel"] == "rbf":
            v += (math.log10(p["gamma"]) + 2) ** 2 - 1.0 + (0.3 if p["sub"] == "a" else 0.0)
        elif p["kernel"] == "poly":
            v += (p["degree"] - 3) ** 2 + p.get("coef0", 1.0)
        return v

    runs = []
    for _ in range(2):
        study = go.Study(s, optimizer=GPOptimizer(seed=3, n_candidates=256, n_local=16))
        study.optimize(f, n_trials=16)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]
    for p in runs[0]:
        assert s.validate(p) == p and list(p) == s.active_names(p)
    best = study.best()
    assert best is not None and best.params["kernel"] == "rbf" and best.value < -0.4


def test_conditional_space_with_a_constraint_and_recommend() -> None:
    s = go.Space({"k": go.Choice(["a", "b"]), "x": go.Real(0.0, 1.0, when={"k": ["b"]}), "y": go.Real(0.0, 1.0)})
    study = go.Study(s, constraints={"c": ("<=", 0.0)}, optimizer=GPOptimizer(seed=0, n_candidates=256, n_local=16))

    def f(p: dict) -> dict:
        x = p.get("x", 0.9)
        return {"value": (x - 0.3) ** 2 + (p["y"] - 0.5) ** 2, "c": p["y"] - 0.8}

    study.optimize(f, n_trials=14)
    rec = study.optimizer.recommend()  # type: ignore[attr-defined]
    assert rec is not None and s.validate(rec) == rec and rec["y"] <= 0.8


def test_fidelity_with_conditional_space_is_refused() -> None:
    s = go.Space({"k": go.Choice(["a", "b"]), "x": go.Real(0.0, 1.0, when={"k": ["b"]}), "f": go.Real(0.1, 1.0)})
    opt = GPOptimizer(acquisition="kg", fidelity="f", fidelity_cost=lambda v: v, seed=0)
    with pytest.raises(UnsupportedError, match="conditional space"):
        go.Study(s, optimizer=opt)


COND = go.Space({"k": go.Choice(["a", "b"]), "x": go.Real(0.0, 1.0, when={"k": ["b"]}),
                 "n": go.Integer(1, 4, when={"k": ["b"]}), "z": go.Real(-1.0, 1.0, when={"n": [2, 3]})})


@contract_settings(scale=0.2)
@given(st.lists(st.one_of(adversarial_scalars(), st.floats(-1e308, 1e308)), min_size=10, max_size=10))
def test_conditional_study_with_adversarial_values_asks_valid_points(values: list) -> None:
    opt = GPOptimizer(seed=0, n_candidates=32, n_local=4, n_initial=3)
    study = go.Study(COND, optimizer=opt)
    it = iter(values)

    def objective(p: dict) -> float:
        return next(it)  # type: ignore[no-any-return]

    assert_contract(study.optimize, objective, n_trials=10)  # a GuardoptError (all trials failed) or a run
    for t in study.trials:
        assert COND.validate(t.params) == t.params
        assert list(t.params) == COND.active_names(t.params)


@contract_settings()
@given(adversarial_arrays(max_dims=2, max_side=7))
def test_conditional_gp_refuses_bad_inputs_by_name(x: object) -> None:
    emb = ArcEmbedding(EncodedSpace(COND))
    theta = np.zeros(emb.dim + 2)
    arr = np.asarray(x) if isinstance(x, np.ndarray) else None
    n = arr.shape[0] if arr is not None and arr.ndim == 2 else 1
    out = assert_contract(ConditionalGP, x, np.zeros(n), theta, emb, names=("x", "y", "theta"))
    if out.ok:
        mu, var = out.result.predict(np.asarray(x, dtype=float))
        assert np.isfinite(mu).all() and (var > 0).all()

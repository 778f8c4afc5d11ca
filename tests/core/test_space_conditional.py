"""Conditional parameters (``when=``): validation, activity, sampling, Sobol designs, encoding, storage."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import guardopt as go
from guardopt.core import InputDataError, InvalidParameterError
from guardopt.core.space import INACTIVE_FILL
from guardopt.testing.contracts import adversarial_scalars, assert_contract, contract_settings


def svc_space() -> go.Space:
    return go.Space({
        "kernel": go.Choice(["linear", "rbf", "poly"]),
        "C": go.Real(1e-3, 1e3, log=True),
        "gamma": go.Real(1e-4, 1.0, log=True, when={"kernel": ["rbf", "poly"]}),
        "degree": go.Integer(2, 5, when={"kernel": "poly"}),
        # nested: active only when degree (itself conditional) is 3 or 4
        "coef0": go.Real(0.0, 1.0, when={"degree": [3, 4]}),
    })


def test_when_is_normalized_and_shown() -> None:
    p = go.Real(0, 1, when={"kernel": ["rbf", "poly"]})
    assert p.when == (("kernel", ("rbf", "poly")),)
    assert p.conditions == {"kernel": ("rbf", "poly")}
    assert go.Integer(1, 3, when={"k": "a"}).conditions == {"k": ("a",)}  # one value is a one-element list
    assert repr(p) == "Real(low=0, high=1, log=False, when={'kernel': ['rbf', 'poly']})"
    assert repr(go.Real(0, 1)) == "Real(low=0, high=1, log=False)"  # unconditional repr unchanged
    assert repr(go.Choice(["a"], when={"k": [1]})) == "Choice(options=('a',), when={'k': [1]})"
    assert p == go.Real(0, 1, when={"kernel": ("rbf", "poly")}) and hash(p) == hash(go.Real(0, 1, when=p.when))
    assert p != go.Real(0, 1)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: go.Real(0, 1, when={}), r"'when' parameter of Real must be a non-empty mapping"),
        (lambda: go.Real(0, 1, when=["k"]), r"'when' parameter of Real must be a non-empty mapping"),
        (lambda: go.Integer(0, 1, when={"k": []}), r"\"when\['k'\]\" parameter of Integer must be a non-empty list"),
        (lambda: go.Choice(["a"], when={3: [1]}), r"'when' parameter of Choice must be parent names that are"),
        (lambda: go.Real(0, 1, when={"k": {"a", "b"}}), r"\"when\['k'\]\" parameter of Real must be a list or tuple"),
    ],
)
def test_bad_when_arguments_name_the_parameter(make: Any, match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        make()


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"a": go.Real(0, 1, when={"b": [1]})},
         r"\"params\['a'\].when\" parameter of Space must be conditions on parameters of the space \['a'\]. "
         r"Got 'b' instead"),
        ({"a": go.Integer(0, 3, when={"a": [1]})}, r"params\['a'\].when.*not on itself"),
        ({"a": go.Integer(0, 3, when={"c": [1]}), "b": go.Integer(0, 3, when={"a": [1]}),
          "c": go.Integer(0, 3, when={"b": [2]})},
         r"must be conditions without a cycle. Got 'a -> c -> b -> a' instead"),
        ({"k": go.Choice(["x", "y"]), "v": go.Real(0, 1, when={"k": ["x", "z"]})},
         r"\"params\['v'\].when\['k'\]\" parameter of Space must be values of 'k', which lie in "
         r"Choice\(options=\('x', 'y'\)\). Got \['z'\] instead"),
        ({"n": go.Integer(1, 4), "v": go.Real(0, 1, when={"n": [7]})}, r"values of 'n'.*Got \[7\] instead"),
        ({"r": go.Real(0, 1), "v": go.Real(0, 1, when={"r": [0.5]})}, r"Choice or Integer parameter \('r' is a Real\)"),
    ],
)
def test_space_rejects_bad_conditions(params: dict[str, Any], match: str) -> None:
    with pytest.raises(InvalidParameterError, match=match):
        go.Space(params)


def test_parents_come_first_in_order_whatever_the_declaration() -> None:
    space = go.Space({"child": go.Real(0, 1, when={"mid": ["on"]}), "mid": go.Choice(["on", "off"], when={"top": [1]}),
                      "top": go.Integer(0, 1)})
    assert space.order == ["top", "mid", "child"]
    assert space.names == ["child", "mid", "top"]  # the declared order is kept for encodings and dicts
    assert space.active_names({"top": 1, "mid": "on", "child": 0.3}) == ["child", "mid", "top"]
    assert space.active_names({"top": 0}) == ["top"]


def test_active_names_nested_and_partial() -> None:
    s = svc_space()
    assert s.is_conditional and not go.Space({"x": go.Real(0, 1)}).is_conditional
    assert s.active_names({"kernel": "linear", "C": 1.0}) == ["kernel", "C"]
    assert s.active_names({"kernel": "poly", "C": 1.0, "gamma": 0.1, "degree": 3}) == \
        ["kernel", "C", "gamma", "degree", "coef0"]
    assert s.active_names({"kernel": "poly", "degree": 5}) == ["kernel", "C", "gamma", "degree"]
    # a parent that is absent (partial dict) makes its children inactive
    assert s.active_names({"kernel": "poly"}) == ["kernel", "C", "gamma", "degree"]
    assert s.is_active("coef0", {"kernel": "poly", "degree": 4}) is True
    assert s.is_active("coef0", {"kernel": "rbf", "degree": 4}) is False  # degree is inactive under rbf
    with pytest.raises(InvalidParameterError, match=r"'name' parameter of Space.is_active"):
        s.is_active("nope", {})


def test_bool_and_int_parents_do_not_match_each_other() -> None:
    s = go.Space({"flag": go.Choice([True, False]), "x": go.Real(0, 1, when={"flag": [True]})})
    assert s.active_names({"flag": True}) == ["flag", "x"]
    s2 = go.Space({"n": go.Integer(0, 2), "x": go.Real(0, 1, when={"n": [1]})})
    assert s2.active_names({"n": True}) == ["n"]  # True == 1 in Python, but True is no value of an Integer


def test_validate_requires_active_and_refuses_inactive() -> None:
    s = svc_space()
    assert s.validate({"C": 2, "kernel": "linear"}) == {"kernel": "linear", "C": 2.0}
    assert s.validate({"kernel": "poly", "C": 1, "gamma": 0.1, "degree": np.int64(3), "coef0": 0.5}) == \
        {"kernel": "poly", "C": 1.0, "gamma": 0.1, "degree": 3, "coef0": 0.5}
    with pytest.raises(InputDataError, match=r"'gamma' is inactive \(it applies only when kernel is in "
                                             r"\['rbf', 'poly'\]; here kernel='linear'\) and must be left out. "
                                             r"Got 0.1 instead"):
        s.validate({"kernel": "linear", "C": 1.0, "gamma": 0.1})
    with pytest.raises(InputDataError, match=r"must have the active parameter 'gamma'; here kernel='rbf'"):
        s.validate({"kernel": "rbf", "C": 1.0})
    with pytest.raises(InputDataError, match=r"'coef0' is inactive .*degree is in \[3, 4\]; here degree=5"):
        s.validate({"kernel": "poly", "C": 1.0, "gamma": 0.1, "degree": 5, "coef0": 0.5})
    with pytest.raises(InputDataError, match=r"'degree' must lie in Integer\(low=2, high=5"):
        s.validate({"kernel": "poly", "C": 1.0, "gamma": 0.1, "degree": 9})
    with pytest.raises(InputDataError, match=r"unexpected \['zeta'\]"):
        s.validate({"kernel": "linear", "C": 1.0, "zeta": 1})
    with pytest.raises(InputDataError, match=r"must have the active parameter 'kernel'"):
        s.validate({"C": 1.0})


def test_encode_fills_inactive_columns_and_decode_drops_them() -> None:
    s = svc_space()
    p = {"kernel": "linear", "C": 1.0}
    u = s.encode(p)
    assert u.shape == (s.dim,) == (7,)
    np.testing.assert_allclose(u, [1, 0, 0, 0.5, INACTIVE_FILL, INACTIVE_FILL, INACTIVE_FILL])
    assert s.decode(u) == p
    q = {"kernel": "poly", "C": 1.0, "gamma": 0.01, "degree": 3, "coef0": 0.25}
    assert s.decode(s.encode(q)) == pytest.approx(q)
    # decode never returns an inactive parameter, whatever its columns hold
    v = s.encode(q)
    v[:3] = [0, 1, 0]  # rbf: degree and coef0 become inactive
    assert set(s.decode(v)) == {"kernel", "C", "gamma"}
    cs = go.Space({"k": go.Choice(["a", "b"]), "sub": go.Choice(["x", "y", "z"], when={"k": ["b"]})})
    np.testing.assert_array_equal(cs.encode({"k": "a"}), [1, 0, 0, 0, 0])  # an inactive Choice: all zeros
    assert cs.decode(cs.encode({"k": "b", "sub": "z"})) == {"k": "b", "sub": "z"}


@given(st.lists(st.floats(0, 1), min_size=7, max_size=7))
@settings(max_examples=60, deadline=None)
def test_decode_is_always_valid_and_a_fixed_point(u: list[float]) -> None:
    s = svc_space()
    p = s.decode(np.array(u))
    assert s.validate(p) == p
    assert s.decode(s.encode(p)) == pytest.approx(p)
    assert list(p) == s.active_names(p)


def test_sample_and_sobol_respect_conditions() -> None:
    s = svc_space()
    for pts in (s.sample(400, seed=1), s.sobol(256, seed=3)):
        for p in pts:
            assert s.validate(p) == p
            assert list(p) == s.active_names(p)
        kernels = Counter(p["kernel"] for p in pts)
        assert set(kernels) == {"linear", "rbf", "poly"}
        assert all("gamma" not in p for p in pts if p["kernel"] == "linear")
        assert any("coef0" in p for p in pts) and any("coef0" not in p and p["kernel"] == "poly" for p in pts)
    sob = Counter(p["kernel"] for p in s.sobol(48, seed=0))
    assert max(sob.values()) - min(sob.values()) <= 2  # the design balances the parent's options
    assert s.sobol(8, seed=5) == s.sobol(8, seed=5)
    assert s.sample(8, seed=5) == s.sample(8, seed=5)


def test_to_dict_round_trip_is_json() -> None:
    s = svc_space()
    d = json.loads(json.dumps(s.to_dict()))
    assert d["gamma"]["when"] == {"kernel": ["rbf", "poly"]} and "when" not in d["C"]
    assert go.Space.from_dict(d) == s
    assert go.Space.from_dict(d) != go.Space.from_dict({**d, "gamma": {**d["gamma"], "when": {"kernel": ["rbf"]}}})
    bad = {**d, "gamma": {**d["gamma"], "when": {"nope": ["rbf"]}}}
    with pytest.raises(InvalidParameterError, match=r"params\['gamma'\].when"):
        go.Space.from_dict(bad)


def test_study_stores_only_active_parameters(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'c.db'}"
    s = svc_space()
    study = go.Study(s, name="cond", storage=url, optimizer=go.RandomSearch(seed=0))
    study.optimize(lambda p: p["C"] + p.get("gamma", 0.0), n_trials=12)
    again = go.Study.load("cond", url)
    assert again.space == s
    assert [t.params for t in again.trials] == [t.params for t in study.trials]
    for t in again.trials:
        assert list(t.params) == s.active_names(t.params)
    assert any("gamma" not in t.params for t in again.trials) and any("gamma" in t.params for t in again.trials)


# ------------------------------------------------------------------------------ contracts


@contract_settings(0.5)
@given(adversarial_scalars(), adversarial_scalars())
def test_conditional_validate_and_encode_contract(kernel: Any, gamma: Any) -> None:
    s = svc_space()
    for params in ({"kernel": kernel, "C": 1.0, "gamma": gamma}, {"kernel": "rbf", "C": 1.0, "gamma": gamma},
                   {"kernel": "linear", "C": gamma}):
        out = assert_contract(s.validate, params, names=("params",))
        if out.ok:
            assert list(out.result) == s.active_names(out.result)
        assert_contract(s.encode, params, names=("params",))


@contract_settings(0.5)
@given(adversarial_scalars())
def test_when_argument_contract(when: Any) -> None:
    for make in (lambda: go.Real(0, 1, when=when), lambda: go.Choice(["a"], when=when)):
        out = assert_contract(make, names=("when",))
        if out.ok:
            # a when that was accepted still has to name parents of the space
            assert_contract(go.Space, {"k": go.Choice([1, 2]), "v": out.result}, names=("params['v'].when",
                                                                                       "params['v'].when['k']"))

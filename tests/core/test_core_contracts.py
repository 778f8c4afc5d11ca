"""Fail-closed contract of the core layer (issue 13): spaces, studies, ask/tell, storages.

Property tests throw adversarial values at every public entry point; the regression tests below
them pin each case of the issue.
"""

from __future__ import annotations

import json
import math
import sqlite3

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import guardopt as go
from guardopt.core.errors import (
    GuardoptError,
    InputDataError,
    InvalidParameterError,
    StorageError,
    check_in_range,
    check_int,
)
from guardopt.core.problem import ProblemSpec
from guardopt.core.seeding import make_rng
from guardopt.core.space import Choice, Integer, Real, Space
from guardopt.core.storage import SQLiteStorage
from guardopt.core.study import Study
from guardopt.core.trial import TrialState
from guardopt.testing.contracts import (
    adversarial_arrays,
    adversarial_floats,
    adversarial_scalars,
    assert_contract,
    contract_settings,
    wrong_types,
)

SPACE = Space({"x": Real(-1.0, 1.0), "n": Integer(1, 5), "k": Choice(["a", "b"])})


# ------------------------------------------------------------------------------------ properties


@contract_settings()
@given(adversarial_scalars(), adversarial_scalars(), st.booleans())
def test_real_and_integer_accept_only_sound_ranges(low, high, log) -> None:
    for cls in (Real, Integer):
        out = assert_contract(cls, low, high, log, names=("low", "high"))
        if out.ok:
            p = out.result
            assert math.isfinite(float(p.high) - float(p.low)) and p.high > p.low
            u = Space({"p": p}).sample(8, seed=0)
            enc = Space({"p": p}).encode(u[0])
            assert np.isfinite(enc).all() and p.contains(u[0]["p"])


@contract_settings()
@given(st.one_of(st.lists(st.one_of(adversarial_floats(), st.integers(), st.text(max_size=3), st.booleans(),
                                    st.none()), max_size=5), wrong_types()))
def test_choice_options_are_distinct_and_each_can_be_chosen(options) -> None:
    out = assert_contract(Choice, options, names=("options",))
    if out.ok:
        c = out.result
        for i, o in enumerate(c.options):
            assert c.options.index(o) == i  # every option encodes to its own column


@contract_settings()
@given(st.one_of(adversarial_scalars(), st.integers(-5, 5)), adversarial_scalars())
def test_sample_validates_n_and_seed(n, seed) -> None:
    if isinstance(n, int) and 64 < n <= 2**31:
        n = 64  # valid but huge: drawing it would only test the machine's memory
    out = assert_contract(SPACE.sample, n, seed, names=("n", "seed"))
    if out.ok:
        assert all(SPACE.validate(p) for p in out.result)


@contract_settings()
@given(adversarial_arrays(max_dims=2, max_side=6))
def test_decode_is_total_on_points_of_the_right_shape(u) -> None:
    out = assert_contract(SPACE.decode, u, names=("u",))
    if out.ok:
        SPACE.validate(out.result)


@contract_settings()
@given(st.dictionaries(st.text(max_size=3), st.one_of(
    st.dictionaries(st.sampled_from(["type", "low", "high", "log", "options"]),
                    st.one_of(st.sampled_from(["real", "integer", "choice", "bogus"]), adversarial_scalars(),
                              st.lists(st.integers(), max_size=3)), max_size=5),
    wrong_types()), max_size=3))
def test_space_from_dict_never_raises_a_raw_error(data) -> None:
    out = assert_contract(Space.from_dict, data, names=("data", "params", "low", "high", "options"))
    if out.ok:
        assert Space.from_dict(out.result.to_dict()) == out.result


@contract_settings()
@given(st.dictionaries(st.one_of(st.text(max_size=3), st.integers(), st.none()),
                       st.one_of(st.tuples(st.sampled_from(["<=", ">=", "=="]), adversarial_scalars()),
                                 wrong_types()), max_size=3))
def test_constraint_specs_are_checked_at_construction(constraints) -> None:
    out = assert_contract(ProblemSpec, SPACE, "minimize", constraints, names=("constraints",))
    if out.ok:
        assert all(isinstance(k, str) and math.isfinite(v[1]) for k, v in out.result.constraints.items())


@contract_settings()
@given(st.one_of(adversarial_scalars(), st.dictionaries(st.sampled_from(["value", "c", "z"]), adversarial_scalars(),
                                                        max_size=3)))
def test_tell_never_leaves_a_trial_running(result) -> None:
    study = Study(SPACE, constraints={"c": ("<=", 0.0)}, optimizer=go.RandomSearch(seed=0))
    trial = study.ask()
    out = assert_contract(study.tell, trial, result, names=("result", "value", "constraints"))
    stored = study.storage.get_trial(study.name, trial.number)
    assert stored is not None and stored.state is not TrialState.RUNNING
    if stored.state is TrialState.COMPLETE:
        assert out.ok and stored.value is not None and math.isfinite(stored.value)


@contract_settings()
@given(adversarial_scalars(), adversarial_scalars(), adversarial_scalars())
def test_check_helpers_raise_only_invalid_parameter_errors(value, low, high) -> None:
    lo = low if isinstance(low, float) and not math.isnan(low) else -math.inf
    hi = high if isinstance(high, float) and not math.isnan(high) else math.inf
    out = assert_contract(check_in_range, value, "v", "owner", lo, hi, names=("v",))
    if out.ok:
        assert lo < out.result < hi
    assert_contract(check_int, value, "v", "owner", names=("v",))


# ------------------------------------------------------------------------------------ regressions


def test_issue13_sample_with_negative_seed_names_seed() -> None:
    with pytest.raises(InvalidParameterError, match=r"'seed' parameter of Space.sample"):
        SPACE.sample(3, seed=-1)
    with pytest.raises(InvalidParameterError, match="'seed'"):
        make_rng("0")


def test_issue13_from_dict_unknown_type_is_invalid_parameter() -> None:
    with pytest.raises(InvalidParameterError, match=r"data\['x'\]\['type'\].*'bogus'"):
        Space.from_dict({"x": {"type": "bogus", "low": 0, "high": 1}})
    with pytest.raises(InvalidParameterError, match=r"data\['x'\]"):
        Space.from_dict({"x": {"type": "real", "low": 0}})


def test_issue13_optimizer_ask_returning_none_names_the_optimizer() -> None:
    class Broken(go.RandomSearch):
        def ask(self, n=1, context=None):  # type: ignore[override]
            return None

    study = Study(SPACE, optimizer=Broken(seed=0))
    with pytest.raises(InvalidParameterError, match=r"'optimizer' parameter of Study.ask.*returned None"):
        study.ask()
    assert study.trials == []


def test_issue13_non_json_user_attrs_on_sqlite_fail_the_trial_with_reason(tmp_path) -> None:
    study = Study(SPACE, storage=f"sqlite:///{tmp_path / 's.db'}", optimizer=go.RandomSearch(seed=0))
    trial = study.ask()
    with pytest.raises(InputDataError, match="'user_attrs'"):
        study.tell(trial, go.Observation(1.0, user_attrs={"model": object()}))
    stored = study.storage.get_trial(study.name, trial.number)
    assert stored is not None and stored.state is TrialState.FAILED
    assert "user_attrs" in (stored.failure_reason or "")
    # the same in memory: a study behaves alike on every storage
    mem = Study(SPACE, optimizer=go.RandomSearch(seed=0))
    t = mem.ask()
    with pytest.raises(InputDataError, match="'user_attrs'"):
        mem.tell(t, go.Observation(1.0, user_attrs={1: "int key"}))
    assert mem.trials[0].state is TrialState.FAILED


def test_issue13_non_json_context_on_sqlite_is_refused_before_storing(tmp_path) -> None:
    study = Study(SPACE, storage=f"sqlite:///{tmp_path / 's.db'}", optimizer=go.RandomSearch(seed=0))
    with pytest.raises(InputDataError, match=r"'context' argument of Study.ask"):
        study.ask(context={"x": object()})
    with pytest.raises(InvalidParameterError, match="'context'"):
        study.ask(context=[1, 2])  # type: ignore[arg-type]
    assert study.trials == []
    # a storage used directly wraps the JSON error too
    store = SQLiteStorage(tmp_path / "direct.db")
    store.create_or_get("s", {"space": SPACE.to_dict()})
    with pytest.raises(StorageError, match="context"):
        store.new_trial("s", {"x": 0.0}, {"bad": object()})


def test_issue13_corrupted_json_column_is_a_storage_error(tmp_path) -> None:
    path = tmp_path / "c.db"
    study = Study(SPACE, name="s", storage=f"sqlite:///{path}", optimizer=go.RandomSearch(seed=0))
    study.tell(study.ask(), 1.0)
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE trials SET data='{not json' WHERE number=0")
    with pytest.raises(StorageError, match="not valid JSON"):
        SQLiteStorage(path).trials("s")
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE trials SET data=? WHERE number=0", (json.dumps({"number": 0}),))
        conn.execute("UPDATE studies SET spec='[1' WHERE name='s'")
    with pytest.raises(StorageError, match="malformed"):
        SQLiteStorage(path).get_trial("s", 0)
    with pytest.raises(StorageError, match="not valid JSON"):
        Study.load("s", f"sqlite:///{path}")


def test_issue13_real_with_overflowing_width_is_rejected() -> None:
    with pytest.raises(InvalidParameterError, match=r"'high' parameter of Real.*high - low is finite"):
        Real(-1e308, 1e308)
    p = Real(-1e307, 1e307)  # a wide but representable range still works
    enc = Space({"p": p}).encode({"p": 0.0})
    assert enc.tolist() == [0.5]


def test_issue13_constraint_names_must_be_strings() -> None:
    with pytest.raises(InvalidParameterError, match=r"'constraints' parameter of Study.*non-empty strings"):
        Study(SPACE, constraints={1: ("<=", 0.0)})  # type: ignore[dict-item]
    with pytest.raises(InvalidParameterError, match="'constraints'"):
        Study(SPACE, constraints={"": ("<=", 0.0)})


def test_issue13_choice_rejects_equal_options_and_strings() -> None:
    with pytest.raises(InvalidParameterError, match=r"'options' parameter of Choice.*distinct"):
        Choice([1, 1.0])
    with pytest.raises(InvalidParameterError, match="'options'"):
        Choice([True, 1])
    with pytest.raises(InvalidParameterError, match="'options' parameter of Choice must be a list or tuple"):
        Choice("abc")
    with pytest.raises(InvalidParameterError, match="'options'"):
        Choice([math.nan, 1.0])
    assert Choice([1, 2.5, "1"]).options == (1, 2.5, "1")


def test_issue13_every_core_error_is_a_guardopt_error() -> None:
    for exc in (InvalidParameterError("p", "o", "e", 1), InputDataError("x"), StorageError("x")):
        assert isinstance(exc, GuardoptError)


def test_issue13_importing_guardopt_does_not_import_hypothesis() -> None:
    import subprocess
    import sys

    code = ("import sys, guardopt, guardopt.testing\n"
            "assert 'hypothesis' not in sys.modules, 'hypothesis imported by guardopt'\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr

"""Storage additions: deleting a study, replacing its problem, intermediate values, picklable in-memory copies."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from guardopt.core import InMemoryStorage, InvalidParameterError, SQLiteStorage, Trial, TrialState, UnsupportedError
from guardopt.core.storage import Storage


def stores(tmp_path: Path) -> list[Storage]:
    return [InMemoryStorage(), SQLiteStorage(tmp_path / "s.db")]


def test_delete_study_set_spec_and_report(tmp_path: Path) -> None:
    for st in stores(tmp_path):
        st.create_or_get("a", {"space": {}})
        st.create_or_get("b", {"space": {}})
        t = st.new_trial("a", {"x": 1}, None)
        st.report("a", t.number, 3, 0.5)
        st.report("a", t.number, 3, 0.9)  # the first value of a step is kept
        st.finish_trial("a", t.finished(state=TrialState.PRUNED))
        (got,) = st.trials("a")
        assert got.state is TrialState.PRUNED and got.intermediate_values == {3: 0.5}
        assert st.get_trial("a", 0) == got
        st.set_spec("a", {"space": {"x": {"type": "real", "low": 0, "high": 1, "log": False}}})
        assert st.get_spec("a") == {"space": {"x": {"type": "real", "low": 0, "high": 1, "log": False}}}
        st.delete_study("a")
        assert st.study_names() == ["b"] and st.trials("a") == [] and st.get_spec("a") is None
        with pytest.raises(InvalidParameterError, match=r"'name' parameter of Storage\.delete_study"):
            st.delete_study("a")
        with pytest.raises(InvalidParameterError, match=r"'name' parameter of Storage\.set_spec"):
            st.set_spec("zzz", {})


def test_in_memory_storage_pickles_as_a_snapshot() -> None:
    st = InMemoryStorage()
    st.create_or_get("a", {"space": {}})
    st.new_trial("a", {"x": 1}, None)
    copy = pickle.loads(pickle.dumps(st))
    assert copy.trials("a") == st.trials("a")
    copy.new_trial("a", {"x": 2}, None)
    assert len(st.trials("a")) == 1  # the copy is a snapshot, not a shared store


def test_trial_round_trip_with_intermediate_values() -> None:
    t = Trial(0, {"x": 1.0}, TrialState.PRUNED, intermediate_values={1: 0.5, 10: 0.25})
    d = t.to_dict()
    assert d["intermediate_values"] == {"1": 0.5, "10": 0.25}
    assert Trial.from_dict(d) == t and t.last_step == 10
    old = {k: v for k, v in d.items() if k != "intermediate_values"}  # written before they existed
    assert Trial.from_dict(old).intermediate_values == {}


def test_a_storage_without_the_new_methods_says_so() -> None:
    class Minimal(InMemoryStorage):
        report = Storage.report  # type: ignore[assignment]

    with pytest.raises(UnsupportedError, match="does not store intermediate values"):
        Minimal().report("a", 0, 1, 0.5)

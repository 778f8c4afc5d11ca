"""KeyDoor: observations, transitions, the sparse reward, the task set and the noisy demonstrator."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import GuardoptError, InputDataError, InvalidParameterError
from guardopt.problems.key_door import (
    ACTIONS,
    KEY_DOOR_VOCAB,
    KeyDoor,
    KeyDoorTask,
    NoisyDemonstrator,
    parse_action,
)
from guardopt.testing.contracts import assert_contract, contract_settings


def test_transitions_and_observations() -> None:
    env = KeyDoor()
    s = env.reset(KeyDoorTask(start=2, key=4, door=0))
    assert env.observe(s) == ("k+2", "d-2")
    s = env.step(s, ["tk", "pick"])  # not on the key's cell: a no-op
    assert (s.pos, s.has_key) == (2, False)
    s = env.step(s, ["tk", "right"])
    s = env.step(s, ["tk", "right"])
    assert env.observe(s) == ("k0", "d-4")
    s = env.step(s, ["td", "open"])  # no key: a no-op
    assert not s.success
    s = env.step(s, ["tk", "pick"])
    assert s.has_key and env.observe(s) == ("kh", "d-4")
    for _ in range(4):
        s = env.step(s, ["td", "left"])
    s = env.step(s, ["td", "left"])  # the wall holds
    assert s.pos == 0 and env.observe(s) == ("kh", "d0") and env.reward(s) == 0.0
    s = env.step(s, ["td", "open"])
    assert s.success and env.reward(s) == 1.0 and env.observe(s) == ("out", "out")
    assert env.step(s, ["tk", "left"]) == s  # after success every action is a no-op


def test_answers_without_an_action_are_no_ops_and_the_first_action_acts() -> None:
    env = KeyDoor()
    s = env.reset(KeyDoorTask(3, 1, 5))
    assert env.step(s, ["tk", "tk"]) == s and env.step(s, []) == s
    assert env.step(s, ["left", "right"]).pos == 2
    assert parse_action(["td", "wait", "open"]) == "wait" and parse_action(["tk"]) is None


def test_run_plays_a_shortest_solution_within_the_horizon() -> None:
    env = KeyDoor()
    t = KeyDoorTask(start=5, key=0, door=6)
    answers = [["tk", "left"]] * 5 + [["tk", "pick"]] + [["td", "right"]] * 6 + [["td", "open"]]
    assert t.shortest == 13 and len(answers) == 13
    assert t not in env.tasks()  # 13 steps exceed horizon − slack = 10
    with pytest.raises(InputDataError, match="horizon"):
        env.run(t, answers)
    t2 = KeyDoorTask(start=1, key=0, door=5)
    s = env.run(t2, [["tk", "left"], ["tk", "pick"]] + [["td", "right"]] * 5 + [["td", "open"]])
    assert s.success and t2.shortest == 8


def test_task_set() -> None:
    env = KeyDoor(length=7, horizon=12, slack=2)
    tasks = env.tasks()
    assert len(tasks) == 190
    assert all(t.shortest <= 10 and len({t.start, t.key, t.door}) == 3 for t in tasks)
    assert len(KeyDoor(length=3, horizon=12, slack=0).tasks()) == 6
    every_word = {w for t in tasks for w in env.observe(env.reset(t))}
    assert every_word <= set(KEY_DOOR_VOCAB)


def test_bad_arguments() -> None:
    with pytest.raises(InvalidParameterError, match="The 'length' parameter of KeyDoor"):
        KeyDoor(length=2)
    with pytest.raises(InputDataError, match="no task"):
        KeyDoor(length=7, horizon=3, slack=0)
    with pytest.raises(InputDataError, match="distinct"):
        KeyDoorTask(1, 1, 2)
    with pytest.raises(InputDataError, match="does not fit"):
        KeyDoor(length=4).reset(KeyDoorTask(0, 1, 6))
    with pytest.raises(InvalidParameterError, match="skip_key"):
        NoisyDemonstrator(KeyDoor(), skip_key=1.5)
    with pytest.raises(InputDataError, match="KeyDoor"):
        NoisyDemonstrator("corridor")  # type: ignore[arg-type]


def test_noiseless_demonstrator_always_succeeds_and_the_noisy_one_is_worse() -> None:
    env = KeyDoor()
    assert NoisyDemonstrator(env, skip_key=0.0, door_first=0.0, noise=0.0).success_rate(200, seed=0) == 1.0
    noisy = NoisyDemonstrator(env, skip_key=0.9, door_first=0.9, noise=0.1)
    rate = noisy.success_rate(2000, seed=0)
    assert 0.05 < rate < 0.3


def test_demonstrations_are_confidently_wrong_on_the_key_cell() -> None:
    env = KeyDoor()
    demo = NoisyDemonstrator(env, skip_key=0.9, door_first=0.0, noise=0.0)
    pairs = demo.demonstrations(300, seed=1)
    assert len(pairs) == 300 * env.horizon
    on_key = [a for o, a in pairs if o[0] == "k0"]
    skipped = np.mean([a[1] != "pick" for a in on_key])
    assert 0.8 < skipped < 0.97 and all(a[0] in ("tk", "td") and a[1] in ACTIONS for a in on_key)
    assert pairs == demo.demonstrations(300, seed=1)  # seeded


@contract_settings()
@given(st.integers(-3, 12), st.integers(-3, 12), st.integers(-3, 12), st.integers(-2, 15))
def test_task_and_env_contract(s, k, d, length) -> None:
    def make() -> float:
        env = KeyDoor(length=length)
        return env.reward(env.run(KeyDoorTask(s, k, d), [["tk", "right"]] * 3))

    out = assert_contract(make, names=("start", "key", "door", "length", "distinct", "fit", "KeyDoor", "task"))
    if out.ok:
        assert out.result in (0.0, 1.0)
    assert out.ok or isinstance(out.error, GuardoptError)

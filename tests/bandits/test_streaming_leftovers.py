"""VanillaUCB.ask as documented: each arm once when asked and told in turn, then by UCB; an arm left
unplayed by rewards told out of turn is not preferred once K rewards were told (the reproduction in
guardopt.reproduce.papers.causal_bandits runs this code, so the docstring was fixed, not the code)."""

from __future__ import annotations

from guardopt.bandits.causal import VanillaUCB


def test_asked_and_told_in_turn_every_arm_is_played_once_first() -> None:
    ucb = VanillaUCB(4, coef=1.0)
    first = []
    for _ in range(4):
        a = ucb.ask()
        first.append(a)
        ucb.tell(a, 1.0 if a == 3 else 0.0)
    assert first == [0, 1, 2, 3]
    assert ucb.ask() == 3


def test_an_arm_unplayed_after_k_rewards_told_out_of_turn_is_not_forced() -> None:
    ucb = VanillaUCB(3, coef=1.0)
    ucb.tell(0, 1.0)
    assert ucb.ask() == 1  # fewer than K rewards: the first unplayed arm
    ucb.tell(0, 1.0)
    ucb.tell(0, 1.0)
    assert ucb.ask() == 0  # K rewards told: by UCB, arms 1 and 2 count as one play of mean 0


def test_the_docstring_says_when_unplayed_arms_come_first() -> None:
    doc = VanillaUCB.ask.__doc__ or ""
    assert "fewer than ``K`` rewards" in doc and "not preferred" in doc

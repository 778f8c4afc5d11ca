"""KeyDoor: a key–door corridor for a text agent with a 12-step horizon and a sparse success reward.

The task stands in for the long-horizon agent benchmarks (ALFWorld, WebShop) of "Harnessing
Uncertainty: Entropy-Modulated Policy Gradients for Long-Horizon LLM Agents" (arXiv 2509.09265): an
agent acts for a fixed number of steps, each step one short generated command, and learns only from
whether the whole episode succeeded.

A corridor has ``length`` cells. A task places the agent, a key and a door on three distinct cells.
The agent must walk to the key, ``pick`` it, walk to the door and ``open`` it. Each step the agent
reads an observation of two words — where the key is relative to it (``k-2``, ``k0``, ``k+3``, …,
or ``kh`` once held) and where the door is (``d-4``, ``d0``, ``d+5``, …) — and answers with a
*think* word (its sub-goal: ``tk`` seek the key, ``td`` seek the door, ``tw`` wait) and one action
word (``left``, ``right``, ``pick``, ``open``, ``wait``). The environment reads the first action
word of the answer and ignores the rest; an answer without one is a no-op. Opening the door while
holding the key succeeds; from then on the observation is ``out out`` and every action is a no-op,
so every episode lasts exactly ``horizon`` steps (episodes of one length make a trajectory's
advantage weigh every step alike). The reward is 1 for an episode that succeeded within the horizon
and 0 otherwise, given at the end.

`NoisyDemonstrator` is the scripted teacher of the warm start. It is right most of the time but
*confidently wrong* in two kinds of state: standing on the key's cell without the key, it walks on
toward the door with probability ``skip_key`` instead of picking the key up; with the key behind it
(on the other side from the door) it walks toward the door with probability ``door_first``; elsewhere
it takes a uniformly random action with probability ``noise``. A policy fitted to its demonstrations
is confident where the teacher is, including where it is wrong — the situation the paper's entropy
modulation is designed for.

This module defines the problem only (no torch, no method code).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import InputDataError, check_in_range, check_int

__all__ = [
    "ACTIONS",
    "KEY_DOOR_VOCAB",
    "THINKS",
    "KeyDoor",
    "KeyDoorState",
    "KeyDoorTask",
    "NoisyDemonstrator",
    "parse_action",
]

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
MAX_LENGTH = 10
ACTIONS: tuple[str, ...] = ("left", "right", "pick", "open", "wait")
THINKS: tuple[str, ...] = ("tk", "td", "tw")
OUT = "out"
HELD = "kh"
# Every word the task uses, padding first (id 0), then BOS / EOS (ids 1 / 2).
OFFSETS = tuple(range(-(MAX_LENGTH - 1), MAX_LENGTH))
KEY_DOOR_VOCAB: tuple[str, ...] = (
    PAD, BOS, EOS,
    *(f"k{o:+d}".replace("+0", "0") for o in OFFSETS), HELD,
    *(f"d{o:+d}".replace("+0", "0") for o in OFFSETS), OUT,
    *THINKS, *ACTIONS,
)


def _offset(word: str, delta: int) -> str:
    return f"{word}{delta:+d}".replace("+0", "0")


@dataclass(frozen=True)
class KeyDoorTask:
    """Where the agent starts, where the key lies and where the door is (three distinct cells)."""

    start: int
    key: int
    door: int

    def __post_init__(self) -> None:
        for name in ("start", "key", "door"):
            check_int(getattr(self, name), name, "KeyDoorTask", 0, MAX_LENGTH - 1)
        if len({self.start, self.key, self.door}) != 3:
            raise InputDataError(f"KeyDoorTask: start, key and door must be distinct cells. Got "
                                 f"({self.start}, {self.key}, {self.door}).")

    @property
    def shortest(self) -> int:
        """Steps of the shortest solution: walk to the key, pick, walk to the door, open."""
        return abs(self.start - self.key) + 1 + abs(self.key - self.door) + 1


@dataclass(frozen=True)
class KeyDoorState:
    """The state of one episode: the task, the agent's cell, whether it holds the key, whether it is out."""

    task: KeyDoorTask
    pos: int
    has_key: bool = False
    success: bool = False


def parse_action(words: Sequence[str]) -> str | None:
    """The first action word of an answer, or None when it has none (a no-op)."""
    for w in words:
        if w in ACTIONS:
            return w
    return None


class KeyDoor:
    """The corridor environment: tasks, observations as words, transitions, the success reward.

    Args:
        length: Cells of the corridor (3 to 10).
        horizon: Steps of every episode (≥ 1); the paper-scale setting is 12.
        slack: Keep only tasks whose shortest solution takes at most ``horizon − slack`` steps.

    Example:
        >>> env = KeyDoor()
        >>> s = env.reset(KeyDoorTask(start=1, key=0, door=3))
        >>> env.observe(s)
        ('k-1', 'd+2')
        >>> for a in ("left", "pick", "right", "right", "right", "open"):
        ...     s = env.step(s, ["tk", a])
        >>> s.success, env.observe(s)
        (True, ('out', 'out'))
    """

    def __init__(self, length: int = 7, horizon: int = 12, slack: int = 2) -> None:
        self.length = check_int(length, "length", "KeyDoor", 3, MAX_LENGTH)
        self.horizon = check_int(horizon, "horizon", "KeyDoor", 1)
        self.slack = check_int(slack, "slack", "KeyDoor", 0)
        if not self.tasks():
            raise InputDataError(f"KeyDoor: no task of length {self.length} fits horizon − slack = "
                                 f"{self.horizon - self.slack} steps.")

    def tasks(self) -> list[KeyDoorTask]:
        """Every placement of agent, key and door whose shortest solution fits ``horizon − slack`` steps."""
        n = self.length
        out = [KeyDoorTask(s, k, d) for s in range(n) for k in range(n) for d in range(n)
               if len({s, k, d}) == 3]
        return [t for t in out if t.shortest <= self.horizon - self.slack]

    def _check_task(self, task: KeyDoorTask) -> None:
        if not isinstance(task, KeyDoorTask):
            raise InputDataError(f"KeyDoor: expected a KeyDoorTask. Got {type(task).__name__} instead.")
        if max(task.start, task.key, task.door) >= self.length:
            raise InputDataError(f"KeyDoor: the task {task} does not fit a corridor of {self.length} cells.")

    def reset(self, task: KeyDoorTask) -> KeyDoorState:
        """The first state of an episode of ``task``."""
        self._check_task(task)
        return KeyDoorState(task, task.start)

    def observe(self, state: KeyDoorState) -> tuple[str, ...]:
        """The observation words: the key's offset (or ``kh``) and the door's offset; ``out out`` after success."""
        if state.success:
            return (OUT, OUT)
        key = HELD if state.has_key else _offset("k", state.task.key - state.pos)
        return (key, _offset("d", state.task.door - state.pos))

    def step(self, state: KeyDoorState, words: Sequence[str]) -> KeyDoorState:
        """The state after the agent answers ``words`` (its first action word acts; none is a no-op)."""
        if state.success:
            return state
        action = parse_action(words)
        t = state.task
        if action == "left":
            return KeyDoorState(t, max(0, state.pos - 1), state.has_key)
        if action == "right":
            return KeyDoorState(t, min(self.length - 1, state.pos + 1), state.has_key)
        if action == "pick" and not state.has_key and state.pos == t.key:
            return KeyDoorState(t, state.pos, True)
        if action == "open" and state.has_key and state.pos == t.door:
            return KeyDoorState(t, state.pos, True, True)
        return state

    def reward(self, state: KeyDoorState) -> float:
        """The sparse reward of an episode that ended in ``state``: 1 on success, else 0."""
        return 1.0 if state.success else 0.0

    def run(self, task: KeyDoorTask, answers: Sequence[Sequence[str]]) -> KeyDoorState:
        """Play a whole episode of ``answers`` (at most ``horizon`` of them) and return the last state."""
        if len(answers) > self.horizon:
            raise InputDataError(f"KeyDoor: {len(answers)} answers exceed the horizon of {self.horizon} steps.")
        s = self.reset(task)
        for a in answers:
            s = self.step(s, a)
        return s


def _toward(pos: int, target: int) -> str:
    return "left" if target < pos else "right"


def expert_answer(state: KeyDoorState) -> tuple[str, str]:
    """The noiseless teacher's answer (think word, action word) in ``state``."""
    t = state.task
    if state.success:
        return ("tw", "wait")
    if not state.has_key:
        return ("tk", "pick") if state.pos == t.key else ("tk", _toward(state.pos, t.key))
    return ("td", "open") if state.pos == t.door else ("td", _toward(state.pos, t.door))


class NoisyDemonstrator:
    """A scripted teacher that is right most of the time and confidently wrong on the key's cell.

    Args:
        env: The environment it demonstrates.
        skip_key: Probability of walking on toward the door (think word ``td``) when standing on the
            key's cell without the key, instead of picking it up.
        door_first: Probability of walking toward the door (think word ``td``) when the key lies on
            the other side of the agent, before the key is held.
        noise: Probability of a uniformly random action (with the think word of the right sub-goal)
            in every other unfinished state.
    """

    def __init__(self, env: KeyDoor, skip_key: float = 0.8, door_first: float = 0.0, noise: float = 0.1) -> None:
        if not isinstance(env, KeyDoor):
            raise InputDataError(f"NoisyDemonstrator: expected a KeyDoor. Got {type(env).__name__} instead.")
        self.env = env
        self.skip_key = check_in_range(skip_key, "skip_key", "NoisyDemonstrator", 0.0, 1.0, low_open=False,
                                       high_open=False)
        self.door_first = check_in_range(door_first, "door_first", "NoisyDemonstrator", 0.0, 1.0, low_open=False,
                                         high_open=False)
        self.noise = check_in_range(noise, "noise", "NoisyDemonstrator", 0.0, 1.0, low_open=False,
                                    high_open=False)

    def answer(self, state: KeyDoorState, rng: np.random.Generator) -> tuple[str, str]:
        """One sampled answer (think word, action word) of the teacher in ``state``."""
        think, action = expert_answer(state)
        if state.success:
            return think, action
        t = state.task
        if not state.has_key and state.pos == t.key:
            if rng.random() < self.skip_key:
                return "td", _toward(state.pos, t.door)
            return think, action
        if not state.has_key and (t.key - state.pos) * (t.door - state.pos) < 0 and rng.random() < self.door_first:
            return "td", _toward(state.pos, t.door)  # the door-first habit: away from a key behind the agent
        if rng.random() < self.noise:
            return think, ACTIONS[int(rng.integers(len(ACTIONS) - 1))]  # never "wait" before the end
        return think, action

    def demonstrations(self, episodes: int, seed: int) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
        """``(observation, answer)`` pairs of every step of ``episodes`` sampled episodes.

        Tasks are drawn uniformly from `KeyDoor.tasks`; every episode runs the full horizon.
        """
        episodes = check_int(episodes, "episodes", "NoisyDemonstrator.demonstrations", 0)
        rng = np.random.default_rng(seed)
        tasks = self.env.tasks()
        out: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
        for _ in range(episodes):
            s = self.env.reset(tasks[int(rng.integers(len(tasks)))])
            for _ in range(self.env.horizon):
                ans = self.answer(s, rng)
                out.append((self.env.observe(s), ans))
                s = self.env.step(s, ans)
        return out

    def success_rate(self, episodes: int, seed: int) -> float:
        """The teacher's own success rate over ``episodes`` sampled episodes (uniform tasks)."""
        episodes = check_int(episodes, "episodes", "NoisyDemonstrator.success_rate", 1)
        rng = np.random.default_rng(seed)
        tasks = self.env.tasks()
        wins = 0
        for _ in range(episodes):
            s = self.env.reset(tasks[int(rng.integers(len(tasks)))])
            for _ in range(self.env.horizon):
                s = self.env.step(s, self.answer(s, rng))
            wins += s.success
        return wins / episodes

"""LP-lite: word problems for two-variable linear programs, a tiny modeling language and its checker.

The task stands in for the optimization-modeling benchmarks of "CALM Before the STORM: Unlocking
Native Reasoning for Optimization Modeling" (arXiv 2510.04204): a model reads a word problem and
writes a formulation; a solver runs the formulation and its optimum is compared with the truth, so
every accuracy number is decided by a program.

**Word problem** (`LPProblem.tokens`)::

    cost y 2 x 3 ; need x 1 y 1 4 ; have x 1 y 0 3

The first clause names the objective (``profit``: maximize, ``cost``: minimize) and its
coefficients; each later clause is a resource (``have``: at most the last number) or a requirement
(``need``: at least the last number). The variables may be listed in either order (``y`` first is
the trap the base policy falls into). Variables are ``x, y ≥ 0`` and continuous.

**Formulation language** (`parse`): the objective sense and the coefficients of ``x`` then ``y``,
then one row per constraint, each introduced by ``;``::

    min 3 2 ; 1 1 >= 4 ; 1 0 <= 3

Tokens ``hint:<slot>`` (`HINT_WORDS`) are corrective hints that an intervener inserts; they are not
part of the program and the parser skips them.

**Checker** (`check`): the parsed program is solved by `scipy.optimize.linprog` (HiGHS); a
formulation is correct when it is feasible and bounded and its optimum is within a relative tolerance
ε of the ground truth (the paper's reward ``1[|Ans − Ans*| / |Ans*| ≤ ε]``). Problems are generated
bounded and feasible; their ground truth comes from exact vertex enumeration (a 2-D LP's optimum
lies on a vertex), which the tests cross-check against HiGHS and cvxpy.

**First wrong token** (`first_wrong_token`): the expert's view of a formulation. It walks the
formulation (skipping hints) along the canonical reference (`LPProblem.reference`: rows in the
prompt's order) and returns the index of the first token that departs from it and the grammar slot
the reference expected there (``sense``, ``coef``, ``dir``, ``rhs``, ``more``: a row is missing,
``end``: a row too many). A formulation that is correct by the checker can still be flagged (an
inactive row with a wrong direction changes no optimum); CALM keeps a trace only when it is both.

**Splits**: easy problems have 1–2 constraints, hard ones 3 (the last row always changes the
optimum, so dropping it is an error the checker sees). `base_corpus` generates pre-training traces
with the base policy's typical errors: the wrong sense, coefficients copied in the prompt's order
when it lists ``y`` first, ``<=`` written for a requirement, the last row dropped on hard problems;
a few traces show a hint before the slot it concerns, followed by the right token (the native
ability to take a hint that the paper's reasoning models have and a 100k-parameter model lacks).

This module defines the problem only (no torch, no method code).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from guardopt.core.errors import InputDataError, check_in_range, check_int
from guardopt.core.seeding import make_rng

__all__ = [
    "HINT_WORDS",
    "LP_VOCAB",
    "LPFormulation",
    "LPProblem",
    "LPTypicalErrors",
    "check_formulation",
    "first_wrong_token",
    "generate_lp_problems",
    "lp_base_corpus",
    "parse_formulation",
    "solve_formulation",
]

PAD, BOS, EOS, SEP = "<pad>", "<bos>", "<eos>", ";"
MAX_COEF = 6
MAX_RHS = 20
NUMBERS = tuple(str(i) for i in range(MAX_RHS + 1))
SLOTS = ("sense", "coef", "dir", "rhs", "more", "end")
HINT_WORDS: tuple[str, ...] = tuple(f"hint:{s}" for s in SLOTS)
# padding first (id 0), then BOS / EOS (ids 1 / 2)
LP_VOCAB: tuple[str, ...] = (PAD, BOS, EOS, SEP, "profit", "cost", "have", "need", "x", "y", "max", "min",
                             "<=", ">=", *NUMBERS, *HINT_WORDS)
_SENSE = {"profit": "max", "cost": "min"}
_DIR = {"have": "<=", "need": ">="}


@dataclass(frozen=True)
class LPFormulation:
    """A parsed program: ``sense c·(x, y)`` subject to ``rows`` (each ``(a_x, a_y, "<=" | ">=", b)``), x, y ≥ 0."""

    sense: str
    objective: tuple[float, float]
    rows: tuple[tuple[float, float, str, float], ...]


@dataclass(frozen=True)
class LPProblem:
    """One word problem with its ground truth.

    Attributes:
        sense: ``"max"`` (a profit) or ``"min"`` (a cost).
        objective: Coefficients of x and y.
        rows: Constraints ``(a_x, a_y, "<=" | ">=", b)`` in the prompt's order.
        y_first: Per clause (objective, then each row), whether the prompt lists ``y`` first.
        optimum: The optimal objective value.
    """

    sense: str
    objective: tuple[int, int]
    rows: tuple[tuple[int, int, str, int], ...]
    y_first: tuple[bool, ...]
    optimum: float

    @property
    def split(self) -> str:
        """``"hard"`` with 3 or more constraints, else ``"easy"``."""
        return "hard" if len(self.rows) >= 3 else "easy"

    def tokens(self) -> list[str]:
        """The word problem's words (without BOS)."""
        def clause(head: str, cx: int, cy: int, yf: bool) -> list[str]:
            pair = ["y", str(cy), "x", str(cx)] if yf else ["x", str(cx), "y", str(cy)]
            return [head, *pair]

        out = clause("profit" if self.sense == "max" else "cost", *self.objective, self.y_first[0])
        for (ax, ay, d, b), yf in zip(self.rows, self.y_first[1:]):
            out += [SEP, *clause("have" if d == "<=" else "need", ax, ay, yf), str(b)]
        return out

    def reference(self) -> list[str]:
        """The canonical formulation's words, ending with EOS."""
        out = [self.sense, str(self.objective[0]), str(self.objective[1])]
        for ax, ay, d, b in self.rows:
            out += [SEP, str(ax), str(ay), d, str(b)]
        return [*out, EOS]

    def formulation(self) -> LPFormulation:
        """The ground-truth program."""
        return LPFormulation(self.sense, (float(self.objective[0]), float(self.objective[1])),
                             tuple((float(a), float(c), d, float(b)) for a, c, d, b in self.rows))


# --------------------------------------------------------------------------------------------------
# Parser, solver, checker
# --------------------------------------------------------------------------------------------------


def _number(w: str, where: int) -> float:
    if w not in NUMBERS:
        raise InputDataError(f"parse_formulation: token {where} ({w!r}) must be a number 0–{MAX_RHS}.")
    return float(w)


def parse_formulation(words: Sequence[str]) -> LPFormulation:
    """Parse a formulation (hints skipped; a trailing EOS and anything after it ignored).

    Raises:
        InputDataError: the words are not a program of the language (the message gives the position).
    """
    toks = [w for w in words if w not in HINT_WORDS]
    if EOS in toks:
        toks = toks[: toks.index(EOS)]
    if len(toks) < 3 or toks[0] not in ("max", "min"):
        raise InputDataError("parse_formulation: a program starts with 'max' or 'min' and two coefficients.")
    obj = (_number(toks[1], 1), _number(toks[2], 2))
    rows = []
    i = 3
    while i < len(toks):
        if toks[i] != SEP or len(toks) - i < 5:
            raise InputDataError(f"parse_formulation: token {i} must start a row '; a_x a_y <=|>= b'.")
        ax, ay = _number(toks[i + 1], i + 1), _number(toks[i + 2], i + 2)
        d = toks[i + 3]
        if d not in ("<=", ">="):
            raise InputDataError(f"parse_formulation: token {i + 3} ({d!r}) must be '<=' or '>='.")
        rows.append((ax, ay, d, _number(toks[i + 4], i + 4)))
        i += 5
    return LPFormulation(toks[0], obj, tuple(rows))


@functools.lru_cache(maxsize=65536)
def _solve_cached(f: LPFormulation) -> tuple[str, float]:
    from scipy.optimize import linprog

    sign = -1.0 if f.sense == "max" else 1.0
    c = [sign * f.objective[0], sign * f.objective[1]]
    a_ub = [[ax, ay] if d == "<=" else [-ax, -ay] for ax, ay, d, _ in f.rows]
    b_ub = [b if d == "<=" else -b for _, _, d, b in f.rows]
    res = linprog(c, A_ub=a_ub or None, b_ub=b_ub or None, bounds=[(0, None), (0, None)], method="highs")
    if res.status == 2:
        return "infeasible", math.nan
    if res.status == 3:
        return "unbounded", math.nan
    if res.status != 0:
        return "error", math.nan
    return "optimal", float(sign * res.fun)


def solve_formulation(f: LPFormulation) -> tuple[str, float]:
    """Solve a program with HiGHS: ``(status, optimum)``, status ∈ {optimal, infeasible, unbounded, error}."""
    if not isinstance(f, LPFormulation):
        raise InputDataError("solve_formulation: 'f' must be an LPFormulation.")
    return _solve_cached(f)


def check_formulation(problem: LPProblem, words: Sequence[str], rel_tol: float = 1e-6) -> bool:
    """Whether ``words`` parse to a program whose optimum matches the truth within ``rel_tol`` (relative)."""
    check_in_range(rel_tol, "rel_tol", "check_formulation", 0.0, low_open=False)
    try:
        f = parse_formulation(words)
    except InputDataError:
        return False
    status, value = solve_formulation(f)
    if status != "optimal":
        return False
    return abs(value - problem.optimum) <= rel_tol * max(1.0, abs(problem.optimum))


def _slot(ref: Sequence[str], j: int) -> str:
    """Grammar slot of reference position ``j`` (``sense``, ``coef``, ``dir``, ``rhs``, or a row boundary)."""
    if j == 0:
        return "sense"
    if j < 3:
        return "coef"
    k = (j - 3) % 5
    if ref[j] == EOS:
        return "end"
    return ("more", "coef", "coef", "dir", "rhs")[k]


def first_wrong_token(problem: LPProblem, words: Sequence[str]) -> tuple[int, str] | None:
    """The first token of ``words`` that departs from the canonical reference, and the slot expected there.

    Hints are skipped (they are not the model's tokens). A formulation that stops early (no EOS) is
    flagged at its end. Returns ``(index in words, slot)`` or None when the words equal the reference.
    The slot names the hint: ``sense``, ``coef``, ``dir``, ``rhs``, ``more`` (EOS or another token
    where a further row was due) or ``end`` (a row or token where EOS was due).
    """
    ref = problem.reference()
    j = 0
    for i, w in enumerate(words):
        if w in HINT_WORDS:
            continue
        if j >= len(ref):  # tokens after EOS are ignored by the parser
            return None
        if w != ref[j]:
            return i, _slot(ref, j)
        if w == EOS:
            return None
        j += 1
    return (len(words), _slot(ref, j)) if j < len(ref) else None


# --------------------------------------------------------------------------------------------------
# Generator
# --------------------------------------------------------------------------------------------------


def _vertex_optimum(sense: str, obj: Sequence[int], rows: Sequence[tuple[int, int, str, int]]) -> float:
    """Optimum of a bounded feasible 2-D LP by vertex enumeration (NaN when infeasible)."""
    lines = [(float(ax), float(ay), float(b)) for ax, ay, _, b in rows] + [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0)]
    best = math.nan
    for i in range(len(lines)):
        for j in range(i + 1, len(lines)):
            a1, b1, c1 = lines[i]
            a2, b2, c2 = lines[j]
            det = a1 * b2 - a2 * b1
            if abs(det) < 1e-12:
                continue
            x, y = (c1 * b2 - c2 * b1) / det, (a1 * c2 - a2 * c1) / det
            if x < -1e-9 or y < -1e-9:
                continue
            ok = all((ax * x + ay * y <= b + 1e-9) if d == "<=" else (ax * x + ay * y >= b - 1e-9)
                     for ax, ay, d, b in rows)
            if ok:
                v = obj[0] * x + obj[1] * y
                if math.isnan(best) or (v > best if sense == "max" else v < best):
                    best = v
    return best


def _bounded(sense: str, rows: Sequence[tuple[int, int, str, int]]) -> bool:
    # max: a resource row with both coefficients positive bounds the region; min with costs ≥ 0 is bounded below
    return sense == "min" or any(d == "<=" and ax > 0 and ay > 0 for ax, ay, d, _ in rows)


def _draw(rng: np.random.Generator, n_rows: int) -> LPProblem | None:
    sense = "max" if rng.random() < 0.5 else "min"
    obj = (int(rng.integers(1, MAX_COEF + 1)), int(rng.integers(1, MAX_COEF + 1)))
    main = "<=" if sense == "max" else ">="
    rows = []
    for _ in range(n_rows):
        ax, ay = int(rng.integers(0, MAX_COEF + 1)), int(rng.integers(0, MAX_COEF + 1))
        if ax == 0 and ay == 0:
            return None
        d = main if rng.random() < 0.7 else ("<=" if main == ">=" else ">=")
        rows.append((ax, ay, d, int(rng.integers(1, MAX_RHS + 1))))
    if not _bounded(sense, rows[:-1] if n_rows > 1 else rows):
        return None
    opt = _vertex_optimum(sense, obj, rows)
    if math.isnan(opt) or abs(opt) < 1e-9:  # a zero optimum (min with no requirement) is trivial
        return None
    if n_rows > 1:  # the last row must matter: dropping it changes the optimum
        drop = _vertex_optimum(sense, obj, rows[:-1])
        if not math.isnan(drop) and abs(drop - opt) <= 1e-6 * max(1.0, abs(opt)):
            return None
    y_first = tuple(bool(rng.random() < 0.5) for _ in range(n_rows + 1))
    return LPProblem(sense, obj, tuple(rows), y_first, float(opt))


def generate_lp_problems(n: int, seed: int, split: str | None = None) -> list[LPProblem]:
    """``n`` random word problems (``split``: ``"easy"`` 1–2 rows, ``"hard"`` 3 rows, None: easy w.p. 0.5).

    Every problem is feasible and bounded, its optimum is not zero, and its last row changes the optimum.
    """
    n = check_int(n, "n", "generate_lp_problems", 0)
    if split not in (None, "easy", "hard"):
        raise InputDataError(f"generate_lp_problems: 'split' must be 'easy', 'hard' or None. Got {split!r} instead.")
    rng = make_rng(seed, "generate_lp_problems")
    out: list[LPProblem] = []
    while len(out) < n:
        s = split or ("easy" if rng.random() < 0.5 else "hard")
        p = _draw(rng, int(rng.integers(1, 3)) if s == "easy" else 3)
        if p is not None:
            out.append(p)
    return out


@dataclass(frozen=True)
class LPTypicalErrors:
    """Error rates of the base corpus (each applies where it can).

    Args:
        sense: Write the other sense.
        swap: Copy a clause's coefficients in the prompt's order when it lists ``y`` first.
        direction: Write ``<=`` for a requirement (``need``).
        drop_last: Stop before the last row of a hard problem.
        hint_demo: At an error opportunity that fires, write the slot's hint and the right token instead.
        hard_share: Share of hard problems in the corpus.
    """

    sense: float = 0.2
    swap: float = 0.3
    direction: float = 0.3
    drop_last: float = 0.4
    hint_demo: float = 0.3
    hard_share: float = 0.25

    def __post_init__(self) -> None:
        for name in ("sense", "swap", "direction", "drop_last", "hint_demo", "hard_share"):
            check_in_range(getattr(self, name), name, "LPTypicalErrors", 0.0, 1.0, low_open=False, high_open=False)


def lp_base_corpus(n: int, seed: int, errors: LPTypicalErrors | None = None) -> list[tuple[LPProblem, list[str]]]:
    """``n`` pre-training pairs ``(problem, completion words)`` with the base policy's typical errors."""
    n = check_int(n, "n", "lp_base_corpus", 0)
    e = errors or LPTypicalErrors()
    if not isinstance(e, LPTypicalErrors):
        raise InputDataError("lp_base_corpus: 'errors' must be an LPTypicalErrors.")
    rng = make_rng(seed, "lp_base_corpus")
    n_hard = round(e.hard_share * n)
    probs = generate_lp_problems(n - n_hard, int(rng.integers(2**31)), "easy")
    probs += generate_lp_problems(n_hard, int(rng.integers(2**31)), "hard")
    order = rng.permutation(len(probs))
    out = []
    for k in order:
        p = probs[int(k)]

        def pick(right: str, wrong: str, rate: float, slot: str) -> list[str]:
            if rng.random() >= rate:
                return [right]
            return [f"hint:{slot}", right] if rng.random() < e.hint_demo else [wrong]

        def coefs(cx: int, cy: int, yf: bool) -> list[str]:
            if yf and cx != cy and rng.random() < e.swap:
                return ["hint:coef", str(cx), str(cy)] if rng.random() < e.hint_demo else [str(cy), str(cx)]
            return [str(cx), str(cy)]

        w = pick(p.sense, "min" if p.sense == "max" else "max", e.sense, "sense")
        w += coefs(*p.objective, p.y_first[0])
        for r, ((ax, ay, d, b), yf) in enumerate(zip(p.rows, p.y_first[1:])):
            if r == len(p.rows) - 1 and len(p.rows) >= 3:
                head = pick(SEP, EOS, e.drop_last, "more")
                w += head
                if head == [EOS]:
                    break
            else:
                w.append(SEP)
            w += coefs(ax, ay, yf)
            w += pick(">=", "<=", e.direction, "dir") if d == ">=" else ["<="]
            w.append(str(b))
        if w[-1] != EOS:
            w.append(EOS)
        out.append((p, w))
    return out

"""LP-lite: the parser and checker on hand-made programs, the first-wrong-token locator, the generator and corpus,
and a third-party cross-check of the optimum against HiGHS called directly and cvxpy."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from guardopt.core.errors import GuardoptError, InputDataError
from guardopt.problems.lp_language import (
    HINT_WORDS,
    LP_VOCAB,
    LPFormulation,
    LPProblem,
    LPTypicalErrors,
    check_formulation,
    first_wrong_token,
    generate_lp_problems,
    lp_base_corpus,
    parse_formulation,
    solve_formulation,
)
from guardopt.testing.contracts import assert_contract, contract_settings

# max 3x + 2y s.t. x + y <= 4, x <= 3: the vertex (3, 1) gives 11 (hand-computed).
P_MAX = LPProblem("max", (3, 2), ((1, 1, "<=", 4), (1, 0, "<=", 3)), (True, False, False), 11.0)
# min 3x + 2y s.t. x + y >= 4, x <= 3, y >= 1: the vertex (0, 4) gives 8 (hand-computed).
P_MIN = LPProblem("min", (3, 2), ((1, 1, ">=", 4), (1, 0, "<=", 3), (0, 1, ">=", 1)), (False,) * 4, 8.0)


def w(text: str) -> list[str]:
    return text.split()


def test_prompt_and_reference_words() -> None:
    assert P_MAX.tokens() == w("profit y 2 x 3 ; have x 1 y 1 4 ; have x 1 y 0 3")
    assert P_MAX.reference() == w("max 3 2 ; 1 1 <= 4 ; 1 0 <= 3 <eos>")
    assert P_MIN.tokens() == w("cost x 3 y 2 ; need x 1 y 1 4 ; have x 1 y 0 3 ; need x 0 y 1 1")
    assert P_MAX.split == "easy" and P_MIN.split == "hard"
    assert set(P_MIN.tokens() + P_MIN.reference()) <= set(LP_VOCAB)


def test_parser_on_hand_made_programs() -> None:
    f = parse_formulation(w("max 3 2 ; 1 1 <= 4 ; 1 0 <= 3 <eos>"))
    assert f == LPFormulation("max", (3.0, 2.0), ((1.0, 1.0, "<=", 4.0), (1.0, 0.0, "<=", 3.0)))
    # hints are skipped, and everything after EOS is ignored
    g = parse_formulation(w("max hint:coef 3 2 ; 1 1 hint:dir <= 4 ; 1 0 <= 3 <eos> ; 9 9 >= 9"))
    assert g == f
    assert parse_formulation(w("min 1 2")).rows == ()
    for bad in ("", "max 3", "foo 3 2", "max 3 2 ; 1 1 = 4", "max 3 2 ; 1 1 <=", "max 3 2 1", "max x 2",
                "max 3 2 ; 1 1 <= 4 ;"):
        with pytest.raises(InputDataError):
            parse_formulation(w(bad))


def test_solver_and_checker_on_hand_made_programs() -> None:
    assert solve_formulation(parse_formulation(P_MAX.reference())) == ("optimal", pytest.approx(11.0))
    assert solve_formulation(parse_formulation(P_MIN.reference())) == ("optimal", pytest.approx(8.0))
    assert solve_formulation(parse_formulation(w("max 1 1 ; 1 0 <= 3")))[0] == "unbounded"
    assert solve_formulation(parse_formulation(w("max 1 1 ; 1 1 <= 2 ; 1 1 >= 5")))[0] == "infeasible"
    assert check_formulation(P_MAX, P_MAX.reference())
    assert check_formulation(P_MIN, P_MIN.reference())
    # the prompt lists y first: copying its order gives max 2x + 3y = 12 at (0, 4), not 11
    assert not check_formulation(P_MAX, w("max 2 3 ; 1 1 <= 4 ; 1 0 <= 3"))
    # a different but equivalent program is correct (the checker compares optima, not words)
    assert check_formulation(P_MAX, w("max 3 2 ; 2 2 <= 8 ; 1 0 <= 3"))
    # the wrong sense makes this program unbounded
    assert not check_formulation(P_MIN, w("max 3 2 ; 1 1 >= 4 ; 1 0 <= 3 ; 0 1 >= 1"))
    assert not check_formulation(P_MIN, w("garbage"))
    with pytest.raises(GuardoptError, match="rel_tol"):
        check_formulation(P_MAX, P_MAX.reference(), rel_tol=-1.0)


def test_first_wrong_token_and_its_slot() -> None:
    ref = P_MAX.reference()
    assert first_wrong_token(P_MAX, ref) is None
    assert first_wrong_token(P_MAX, [*ref, "9"]) is None  # after EOS nothing counts
    assert first_wrong_token(P_MAX, w("min 3 2 ; 1 1 <= 4 ; 1 0 <= 3 <eos>")) == (0, "sense")
    assert first_wrong_token(P_MAX, w("max 2 3 ; 1 1 <= 4 ; 1 0 <= 3 <eos>")) == (1, "coef")
    assert first_wrong_token(P_MAX, w("max 3 2 ; 1 1 >= 4 ; 1 0 <= 3 <eos>")) == (6, "dir")
    assert first_wrong_token(P_MAX, w("max 3 2 ; 1 1 <= 5 ; 1 0 <= 3 <eos>")) == (7, "rhs")
    assert first_wrong_token(P_MAX, w("max 3 2 ; 1 1 <= 4 <eos>")) == (8, "more")
    assert first_wrong_token(P_MAX, w("max 3 2 ; 1 1 <= 4 ; 1 0 <= 3 ; 1 0 <= 2 <eos>")) == (13, "end")
    assert first_wrong_token(P_MAX, w("max 3 2 ; 1 1")) == (6, "dir")  # truncated: flagged at its end
    # hints are skipped but indices are positions in the given words
    assert first_wrong_token(P_MAX, w("max hint:coef 3 2 ; 1 1 >= 4")) == (7, "dir")
    assert first_wrong_token(P_MAX, w("max hint:coef 3 2 ; 1 1 <= 4 ; 1 0 <= 3 <eos>")) is None
    assert first_wrong_token(P_MAX, []) == (0, "sense")


def test_generator_is_seeded_split_and_well_posed() -> None:
    easy = generate_lp_problems(30, seed=1, split="easy")
    hard = generate_lp_problems(30, seed=1, split="hard")
    assert generate_lp_problems(30, seed=1, split="easy") == easy
    assert {len(p.rows) for p in easy} <= {1, 2} and {len(p.rows) for p in hard} == {3}
    for p in easy + hard:
        assert p.optimum != 0.0 and check_formulation(p, p.reference())
        assert set(p.tokens()) <= set(LP_VOCAB)
        if len(p.rows) > 1:  # dropping the last row changes the optimum (or unbounds the program)
            status, value = solve_formulation(LPProblem(p.sense, p.objective, p.rows[:-1], p.y_first[:-1],
                                                        p.optimum).formulation())
            assert status != "optimal" or abs(value - p.optimum) > 1e-6
    with pytest.raises(InputDataError, match="split"):
        generate_lp_problems(3, seed=0, split="medium")


def test_base_corpus_errors_and_hint_demos() -> None:
    corpus = lp_base_corpus(400, seed=3)
    assert len(corpus) == 400 and lp_base_corpus(400, seed=3) == corpus
    hard = [(p, c) for p, c in corpus if p.split == "hard"]
    assert len(hard) == 100  # hard_share 0.25
    acc = {s: np.mean([check_formulation(p, c) for p, c in corpus if p.split == s]) for s in ("easy", "hard")}
    assert 0.3 < acc["easy"] < 0.9 and acc["hard"] < acc["easy"] - 0.15
    assert any(x in HINT_WORDS for _, c in corpus for x in c)
    # with every error turned into a demo (hint, then the right token), every trace is flawless and correct
    demos = lp_base_corpus(150, seed=3, errors=LPTypicalErrors(hint_demo=1.0))
    assert sum(x in HINT_WORDS for _, c in demos for x in c) > 50
    assert all(first_wrong_token(p, c) is None and check_formulation(p, c) for p, c in demos)
    clean = lp_base_corpus(200, seed=3, errors=LPTypicalErrors(0.0, 0.0, 0.0, 0.0, 0.0, 0.5))
    assert all(c == p.reference() for p, c in clean)
    with pytest.raises(GuardoptError, match="swap"):
        LPTypicalErrors(swap=1.5)


def _highs_direct(f: LPFormulation) -> tuple[str, float]:
    highspy = pytest.importorskip("highspy")
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    inf = highspy.kHighsInf
    sign = -1.0 if f.sense == "max" else 1.0
    h.addVars(2, np.zeros(2), np.array([inf, inf]))
    h.changeColsCost(2, np.arange(2, dtype=np.int32), sign * np.asarray(f.objective))
    for ax, ay, d, b in f.rows:
        lo, hi = (-inf, b) if d == "<=" else (b, inf)
        h.addRow(lo, hi, 2, np.arange(2, dtype=np.int32), np.array([ax, ay]))
    h.run()
    status = h.getModelStatus()
    if status == highspy.HighsModelStatus.kOptimal:
        return "optimal", sign * h.getInfo().objective_function_value
    return str(status), math.nan


def _cvxpy(f: LPFormulation) -> float:
    cp = pytest.importorskip("cvxpy")
    x = cp.Variable(2, nonneg=True)
    c = np.asarray(f.objective)
    cons = [(np.array([ax, ay]) @ x <= b) if d == "<=" else (np.array([ax, ay]) @ x >= b) for ax, ay, d, b in f.rows]
    prob = cp.Problem(cp.Maximize(c @ x) if f.sense == "max" else cp.Minimize(c @ x), cons)
    prob.solve(solver=cp.CLARABEL)
    return float(prob.value)


def test_third_party_cross_check_highs_direct_and_cvxpy() -> None:
    probs = [P_MAX, P_MIN, *generate_lp_problems(8, seed=11, split="easy"),
             *generate_lp_problems(8, seed=12, split="hard")]
    for p in probs:
        f = p.formulation()
        status, ours = solve_formulation(f)
        hs, theirs = _highs_direct(f)
        assert status == "optimal" and hs == "optimal"
        assert ours == pytest.approx(theirs, rel=1e-7, abs=1e-7)
        assert ours == pytest.approx(p.optimum, rel=1e-7, abs=1e-7)  # the generator's vertex enumeration
        assert ours == pytest.approx(_cvxpy(f), rel=1e-5, abs=1e-5)


WORDS = st.lists(st.sampled_from((*LP_VOCAB, "nan", "inf", "-1", "1e9", "")), max_size=20)


@contract_settings(0.3)
@given(WORDS)
def test_parser_checker_and_locator_never_crash(words) -> None:
    assert_contract(parse_formulation, words, names=None)
    out = assert_contract(check_formulation, P_MIN, words, names=("rel_tol",))
    assert out.ok and isinstance(out.result, bool)
    loc = assert_contract(first_wrong_token, P_MIN, words)
    assert loc.ok and (loc.result is None or 0 <= loc.result[0] <= len(words))


def test_bad_arguments_raise_the_library_error() -> None:
    with pytest.raises(GuardoptError, match="'n'"):
        generate_lp_problems(-1, seed=0)
    with pytest.raises(GuardoptError):
        generate_lp_problems(2, seed=-3)
    with pytest.raises(GuardoptError):
        solve_formulation("max 1 1")  # type: ignore[arg-type]
    with pytest.raises(GuardoptError):
        check_formulation(P_MAX, P_MAX.reference(), rel_tol=math.nan)

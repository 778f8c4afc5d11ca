"""Random numeric programs with textual feedback (guardopt.problems.numeric_programs)."""

from __future__ import annotations

import numpy as np
import pytest

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.problems.numeric_programs import (
    OP_FUNCTIONS,
    NumericProgram,
    Op,
    make_numeric_programs,
    noisy_errors,
    numeric_program,
)


def test_hand_built_program_reference_values() -> None:
    # v0 = add(theta0, theta1); v1 = clip(v0, -1, 1); v2 = square(v1); v3 = mul(v2, -2)
    ops = (Op("add", (0, 1)), Op("clip", (2,), (-1.0, 1.0)), Op("square", (3,)), Op("mul", (4,), (-2.0,)))
    p = NumericProgram(ops, 2, (0.0, 0.0), (0.25, 0.25), -0.5, 0)
    assert p.run([0.25, 0.25]) == [0.25, 0.25, 0.5, 0.5, 0.25, -0.5]
    assert p.evaluate([3.0, 0.0]) == -2.0  # clipped at 1
    assert p.feedback(-0.25) == "The output is too high by 0.25."
    assert p.feedback(-1.0) == "The output is too low by 0.5."
    assert p.feedback(-0.5) == "The output is correct."
    assert p.feedback(float("nan")) == "The output is not a finite number."
    assert p.source().splitlines()[1] == "v1 = clip(v0, -1, 1)"
    assert OP_FUNCTIONS["abs"](-2.0) == 2.0


def test_programs_are_seeded_solvable_and_well_posed() -> None:
    progs = make_numeric_programs(20, seed=5)
    assert [p.ops for p in progs] == [p.ops for p in make_numeric_programs(20, seed=5)]
    assert [p.ops for p in progs] != [p.ops for p in make_numeric_programs(20, seed=6)]
    for p in progs:
        assert 1 <= p.n_params <= 3 and len(p.theta0) == p.n_params
        assert p.evaluate(p.theta_star) == pytest.approx(p.target, abs=1e-12)
        assert abs(p.error(p.evaluate(p.theta0))) >= 0.1
        used = {i for op in p.ops for i in op.args}
        assert set(range(p.n_params)) <= used  # every parameter is read
        assert {op.kind for op in p.ops} <= set(OP_FUNCTIONS)
    kinds = {op.kind for p in progs for op in p.ops}
    assert kinds == set(OP_FUNCTIONS)
    assert numeric_program(7).ops == numeric_program(7).ops


def test_every_parameter_reaches_the_output() -> None:
    for p in make_numeric_programs(30, seed=1):
        reach = {p.n_params + len(p.ops) - 1}
        for j in range(len(p.ops) - 1, -1, -1):
            if p.n_params + j in reach:
                reach.update(p.ops[j].args)
        assert set(range(p.n_params)) <= reach


def test_noisy_errors() -> None:
    p = numeric_program(0)
    out = noisy_errors(p, p.target + 1.0, np.array([0.0, 1.0, -2.0]), 0.5)
    assert out.tolist() == pytest.approx([1.0, 1.5, 0.0])


def test_errors_name_the_argument() -> None:
    p = numeric_program(0)
    with pytest.raises(InputDataError, match="'theta'"):
        p.run([0.0] * (p.n_params + 1))
    with pytest.raises(InputDataError, match="'theta'"):
        p.run(["a"] * p.n_params)
    with pytest.raises(InvalidParameterError, match="'seed'"):
        numeric_program(-1)
    with pytest.raises(InvalidParameterError, match="'n'"):
        make_numeric_programs(0)
    with pytest.raises(InvalidParameterError, match="'sigma'"):
        noisy_errors(p, 0.0, [0.0], -1.0)

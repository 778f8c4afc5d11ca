"""Regression tests of defects found by auditing guardopt.workflow as a new user would use it."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from guardopt.core.errors import InputDataError, InvalidParameterError
from guardopt.workflow import (
    GuardConfig,
    GuardedOptimizer,
    OptoPrimeConfig,
    OptoPrimeProposer,
    TraceAwareProposer,
    WorkflowOptimizer,
    bundle,
    cast_like,
    local_derivatives,
    minimal_subgraph,
    node,
    parse_signed_error,
    render_prompt,
    sensitivities,
)


def test_reflected_division_and_power_are_traced() -> None:
    # Before: 1.0 / x and 2.0 ** x raised TypeError (no __rtruediv__ / __rpow__).
    x = node(2.0, name="x", trainable=True)
    for y, want, d in ((1.0 / x, 0.5, -0.25), (np.float64(1.0) / x, 0.5, -0.25),
                       (2.0**x, 4.0, 4.0 * math.log(2.0))):
        assert y.value == pytest.approx(want)
        assert sensitivities(minimal_subgraph(y))["x"] == pytest.approx(d, rel=1e-6)


def test_derivatives_and_inversion_through_trainable_code() -> None:
    @bundle(trainable=True)
    def affine(a):
        return 3.0 * a + 1.0

    x = node(2.0, name="x", trainable=True)
    y = affine(x)
    # Before: the code string was passed to the function as an extra argument: every derivative NaN.
    d = local_derivatives(y)
    assert d[0] == pytest.approx(3.0, rel=1e-6) and math.isnan(d[1])
    assert sensitivities(minimal_subgraph(y))["x"] == pytest.approx(3.0, rel=1e-6)
    opt = WorkflowOptimizer([x], TraceAwareProposer())
    opt.backward(y, "too high by 3")
    assert opt.step().updates["x"] == pytest.approx(1.0)


@pytest.mark.parametrize("text", ["The output is not correct.", "That isn't correct", "not yet solved",
                                  "Never exact."])
def test_a_negated_verdict_is_not_a_zero_error(text) -> None:
    assert parse_signed_error(text) is None


def test_cast_like_refuses_nonsense_for_bools_and_numbers() -> None:
    for bad in (None, 0.7, [1], {"a": 1}, "yes"):
        with pytest.raises(ValueError):
            cast_like(bad, True)
    assert cast_like(1, False) is True and cast_like(0.0, True) is False and cast_like(np.True_, False) is True
    for like in (1.0, 3, np.int64(3)):
        with pytest.raises(ValueError):
            cast_like(True, like)
    with pytest.raises(ValueError):
        cast_like(2.5, np.int64(3))  # before: a numpy integer parameter took 2.5
    assert cast_like("4", np.int64(3)) == 4


def test_graph_functions_name_a_wrong_argument() -> None:
    x = node(1.0, name="x", trainable=True)
    y = x * 2.0
    with pytest.raises(InvalidParameterError, match="'parameters'"):
        minimal_subgraph(y, "", x)  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'graph'"):
        sensitivities("graph")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError, match="'n'"):
        local_derivatives(3.0)  # type: ignore[arg-type]
    for eps in (0.0, -1e-6, math.nan, True):
        with pytest.raises(InvalidParameterError, match="'eps'"):
            sensitivities(minimal_subgraph(y), eps)


def test_a_proposer_that_returns_no_proposal_is_refused() -> None:
    class Broken:
        uses_trace = False

        def propose(self, context):  # type: ignore[no-untyped-def]
            return {"x": 3.0}

    x = node(1.0, name="x", trainable=True)
    opt = WorkflowOptimizer([x], Broken())
    opt.backward(x * 1.0, "too low by 2")
    with pytest.raises(InvalidParameterError, match="'proposer'"):
        opt.step()
    with pytest.raises(InvalidParameterError, match="'proposer'"):
        GuardedOptimizer(opt, lambda c, n: ([1.0, 1.0], [0.0, 0.0])).step()
    with pytest.raises(InvalidParameterError, match="'proposal'"):
        opt.apply(None)  # type: ignore[arg-type]
    assert x.value == 1.0


def test_guard_config_checks_a_range_given_with_the_t_test() -> None:
    for kw in ({"low": "abc"}, {"high": math.nan}, {"low": 1.0, "high": 0.0}):
        with pytest.raises(InvalidParameterError):
            GuardConfig(**kw)  # type: ignore[arg-type]
    assert GuardConfig(low=-1.0, high=1.0).bound == "ttest"


def test_heldout_losses_of_other_shapes_are_not_paired() -> None:
    x = node(1.0, name="x", trainable=True)
    opt = WorkflowOptimizer([x], TraceAwareProposer())
    opt.backward(x * 1.0, "too low by 1")
    # Before: both were flattened first, so (2, 3) against (3, 2) was tested (and accepted) as 6 pairs.
    guard = GuardedOptimizer(opt, lambda c, n: (np.zeros((2, 3)), -np.ones((3, 2))))
    with pytest.raises(InputDataError, match="paired losses"):
        guard.step()
    assert x.value == 1.0


def test_prompt_variables_are_only_what_may_change() -> None:
    x = node(1.0, name="x", trainable=True)
    z = node(5.0, name="z", trainable=True)  # trainable, but not this optimizer's
    y = x * 3.0 + z
    seen = {}

    def scripted(url, payload, headers, timeout):  # type: ignore[no-untyped-def]
        seen["prompt"] = payload["messages"][1]["content"]
        return {"choices": [{"message": {"content": json.dumps({"suggestion": {"x": 2.0}})}}]}

    opt = WorkflowOptimizer([x], OptoPrimeProposer(OptoPrimeConfig(api_key_env=None), transport=scripted))
    opt.backward(y, "too low by 3")
    assert opt.step().updates == {"x": 2.0}
    variables = seen["prompt"].split("#Variables\n")[1].split("\n\n")[0]
    # Before: z was listed as a variable to change although a suggestion for it is dropped.
    assert variables == "(float) x=1.0"
    assert "(float) z=5.0" in seen["prompt"].split("#Inputs\n")[1].split("\n\n")[0]
    assert render_prompt(minimal_subgraph(y), "f").count("(float) z=5.0") == 1

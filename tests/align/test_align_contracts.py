"""Fail-closed contract of `guardopt.align`'s losses: adversarial tensors give a finite result or a GuardoptError."""

from __future__ import annotations

import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from guardopt.align.losses import (  # noqa: E402
    dpo_loss,
    grpo_advantages,
    grpo_loss,
    intervened_po_loss,
    masked_nll,
    sequence_logps,
)
from guardopt.problems.safe_steps import SafeStepsPrompt, judge  # noqa: E402
from guardopt.testing.contracts import adversarial_floats, assert_contract, contract_settings  # noqa: E402

VALUES = st.lists(adversarial_floats(), min_size=1, max_size=6)


def _t(values: list[float]) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


def _finite(x: torch.Tensor) -> bool:
    return bool(torch.isfinite(x).all())


@contract_settings()
@given(VALUES, VALUES, VALUES, VALUES, st.one_of(adversarial_floats(), st.just(0.1)))
def test_dpo_loss_is_finite_or_refuses(a, b, c, d, beta) -> None:
    out = assert_contract(dpo_loss, _t(a), _t(b), _t(c), _t(d), beta=beta, names=("beta", "one shape", "NaN"))
    if out.ok:
        assert _finite(out.result) and bool((out.result >= 0).all())


@contract_settings()
@given(st.lists(st.lists(adversarial_floats(), min_size=3, max_size=3), min_size=1, max_size=4),
       st.one_of(adversarial_floats(), st.just(0.2)))
def test_intervened_po_loss_is_finite_or_refuses(rows, lam) -> None:
    lp = _t(rows).clamp_max(0.0)
    mask = torch.ones_like(lp)
    out = assert_contract(intervened_po_loss, lp, lp, lp, lp, mask, mask, sft_weight=lam,
                          names=("sft_weight", "NaN", "beta"))
    if out.ok:
        assert _finite(out.result)


@contract_settings()
@given(st.lists(st.lists(adversarial_floats(), min_size=4, max_size=4), min_size=1, max_size=3))
def test_grpo_functions_are_finite_or_refuse(rows) -> None:
    r = _t(rows)
    out = assert_contract(grpo_advantages, r, names=("NaN", "rewards"))
    if not out.ok:
        return
    adv = out.result
    assert _finite(adv)
    lp = torch.full((r.shape[0] * 4, 3), -1.0)
    res = assert_contract(grpo_loss, lp, lp, lp, adv.reshape(-1), torch.ones_like(lp), names=("NaN",))
    assert res.ok and _finite(res.result)


def test_wrong_shapes_are_refused_by_name() -> None:
    for fn, args in [(sequence_logps, (torch.zeros(3), torch.zeros(3))),
                     (masked_nll, (torch.zeros(2, 3), torch.zeros(3, 2))),
                     (grpo_advantages, (torch.zeros(3),))]:
        out = assert_contract(fn, *args, names=("token_logps", "one shape", "rewards"))
        assert not out.ok


@contract_settings()
@given(st.lists(st.sampled_from(["OK", "X", "A", "R", ";", "<eos>", "7", "SAFE", "1"]), max_size=12),
       st.sampled_from(["benign", "harmful", "jailbreak"]))
def test_judges_take_any_word_sequence(words, kind) -> None:
    j = assert_contract(judge, SafeStepsPrompt(kind, 3, 4), words).result
    assert not (j.answer_harm and kind == "benign")
    assert not (j.correct and kind != "benign")
    assert math.isfinite(float(np.mean([j.reasoning_harm, j.answer_harm])))

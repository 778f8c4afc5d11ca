"""The multi-level guardrail (`guardopt.align.guardrail`): the filter-and-regenerate loop's stopping and fallback."""

from __future__ import annotations

import pytest

from guardopt.align.guardrail import GuardrailConfig, GuardrailResult, filter_and_regenerate
from guardopt.core.errors import GuardoptError, InvalidParameterError


class Script:
    """A stub generator: prompt p's response in round r is ``[p, r]``; counts every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[list[int], int]] = []

    def __call__(self, prompts: list[int], r: int) -> list[list[int]]:
        self.calls.append((list(prompts), r))
        return [[p, r] for p in prompts]


def classify_by(first_ok: dict[int, int]):
    """Prompt p's response is flagged (level 2) until round first_ok[p], then safe (0)."""
    return lambda prompts, responses: [0 if r[1] >= first_ok.get(r[0], 99) else 2 for r in responses]


def test_stops_at_the_first_accepted_response_and_counts_rounds() -> None:
    gen = Script()
    res = filter_and_regenerate([0, 1, 2], gen, classify_by({0: 0, 1: 2, 2: 99}), GuardrailConfig(max_rounds=5))
    assert res.rounds == (1, 3, 5)
    assert res.accepted == (True, True, False)
    assert res.completions == ((0, 0), (1, 2), (2, 4))  # "last": the last flagged response is returned
    assert res.generations == 9
    # Accepted prompts are never generated for again; the loop never runs past the round limit.
    assert gen.calls == [([0, 1, 2], 0), ([1, 2], 1), ([1, 2], 2), ([2], 3), ([2], 4)]


def test_never_more_than_the_round_limit() -> None:
    for rounds in (1, 2, 5):
        gen = Script()
        res = filter_and_regenerate([0, 1], gen, classify_by({}), GuardrailConfig(max_rounds=rounds))
        assert len(gen.calls) == rounds and res.rounds == (rounds, rounds) and not any(res.accepted)


def test_a_safe_first_response_costs_one_round() -> None:
    gen = Script()
    res = filter_and_regenerate([3, 4], gen, classify_by({3: 0, 4: 0}), GuardrailConfig())
    assert res.rounds == (1, 1) and len(gen.calls) == 1 and all(res.accepted)


def test_refusal_fallback_and_flag_level() -> None:
    res = filter_and_regenerate([0], Script(), classify_by({}), GuardrailConfig(max_rounds=2, fallback="refuse",
                                                                                refusal=(7, 8)))
    assert res.completions == ((7, 8),) and res.levels == (2,)
    # Flagging only severe (3): a moderate (2) response is accepted at once.
    res = filter_and_regenerate([0], Script(), classify_by({}), GuardrailConfig(flag_level=3))
    assert res.rounds == (1,) and res.accepted == (True,)


def test_empty_prompt_list() -> None:
    gen = Script()
    res = filter_and_regenerate([], gen, classify_by({}), GuardrailConfig())
    assert isinstance(res, GuardrailResult) and res.rounds == () and gen.calls == []


@pytest.mark.parametrize("bad", [{"max_rounds": 0}, {"flag_level": 0}, {"flag_level": 4}, {"fallback": "x"},
                                 {"fallback": "refuse"}, {"temperature": 0.0}, {"max_rounds": 2.5}])
def test_config_refuses_bad_values_by_name(bad: dict[str, object]) -> None:
    name = "refusal" if bad == {"fallback": "refuse"} else next(iter(bad))
    with pytest.raises(InvalidParameterError, match=name):
        GuardrailConfig(**bad)  # type: ignore[arg-type]


def test_bad_callables_are_refused() -> None:
    with pytest.raises(GuardoptError, match="generate"):
        filter_and_regenerate([0, 1], lambda ps, r: [[1]], classify_by({}), GuardrailConfig())
    with pytest.raises(GuardoptError, match="classify"):
        filter_and_regenerate([0], Script(), lambda ps, rs: [7], GuardrailConfig())
    with pytest.raises(GuardoptError, match="config"):
        filter_and_regenerate([0], Script(), classify_by({}), {"max_rounds": 5})  # type: ignore[arg-type]


def test_with_a_real_policy_and_classifier() -> None:
    torch = pytest.importorskip("torch")
    from guardopt.align.guardrail import SeverityClassifier, guarded_sample, train_severity_classifier
    from guardopt.align.model import TinyCausalLM, TinyLMConfig
    from guardopt.align.score_models import ScoreModel, ScoreTrainConfig

    torch.manual_seed(0)
    cfg = TinyLMConfig(vocab_size=6, d_model=16, n_heads=2, n_layers=1, max_len=8)
    clf_model = ScoreModel(cfg, 4, seed=0)
    # Responses [3] are "severe", [4] "safe": a classifier trained on them flags token 3.
    clf, _ = train_severity_classifier(clf_model, [0] * 40, [[3], [4]] * 20, [3, 0] * 20, lambda p: [1],
                                       ScoreTrainConfig(epochs=20, batch_size=8, lr=1e-2), seed=0)
    assert clf([0, 0], [[3], [4]]) == [3, 0]
    policy = TinyCausalLM(cfg, seed=0)
    res = guarded_sample(policy, list(range(20)), lambda p: [1], clf, GuardrailConfig(max_new=2), seed=0, eos_id=2)
    assert max(res.rounds) <= 5 and len(res.completions) == 20
    with pytest.raises(InvalidParameterError, match="model"):
        SeverityClassifier(ScoreModel(cfg, 1), lambda p: [1])

"""The LLM-backed OptoPrime proposer, without a network: a golden prompt and a scripted transport."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from guardopt.core.errors import InvalidParameterError
from guardopt.workflow import (
    LLMError,
    OptoPrimeConfig,
    OptoPrimeProposer,
    WorkflowOptimizer,
    bundle,
    minimal_subgraph,
    node,
    render_prompt,
)

GOLDEN = Path(__file__).parent / "data" / "optoprime_prompt.golden.txt"


@bundle(description="scale(a, k) returns k * a.")
def scale(a, k):
    return a * k


def _workflow():
    x = node(1.0, name="x", trainable=True, description="x must stay in [-5, 5].")
    k = node(3.0, name="k")
    y = abs(scale(x, k) + 1.0) ** 2  # (|3x + 1|)^2 = 16
    return x, y


class ScriptedTransport:
    """Records each request and answers with the next scripted reply."""

    def __init__(self, replies):
        self.replies = list(replies)
        self.requests = []

    def __call__(self, url, payload, headers, timeout):
        self.requests.append((url, payload, dict(headers), timeout))
        content = self.replies.pop(0)
        return {"choices": [{"message": {"role": "assistant", "content": content}}]}


def test_prompt_matches_the_golden_file() -> None:
    _x, y = _workflow()
    prompt = render_prompt(minimal_subgraph(y, "The output is too high by 12."), "The output is too high by 12.")
    assert prompt == GOLDEN.read_text()  # a deliberate prompt change rewrites this file
    for section in ("#Instruction", "#Code", "#Documentation", "#Variables", "#Constraints", "#Inputs", "#Others",
                    "#Outputs", "#Feedback"):
        assert section in prompt


def test_scripted_reply_updates_the_parameter() -> None:
    x, y = _workflow()
    reply = json.dumps({"reasoning": "3x + 1 should be 2", "answer": "", "suggestion": {"x": "0.3333333333"}})
    transport = ScriptedTransport(["Here you go:\n```json\n" + reply + "\n```"])
    cfg = OptoPrimeConfig(model="test-model", base_url="http://llm.invalid/v1", api_key_env=None, max_tokens=512)
    opt = WorkflowOptimizer([x], OptoPrimeProposer(cfg, transport))
    opt.backward(y, "The output is too high by 12.")
    step = opt.step()
    assert step.updates == {"x": pytest.approx(0.3333333333)} and isinstance(x.value, float)
    assert "3x + 1" in step.reasoning
    url, payload, headers, timeout = transport.requests[0]
    assert url == "http://llm.invalid/v1/chat/completions" and headers == {} and timeout == 60.0
    assert payload["model"] == "test-model" and payload["max_tokens"] == 512
    assert payload["messages"][1]["content"] == GOLDEN.read_text()


def test_api_key_is_read_from_the_configured_variable(monkeypatch) -> None:
    monkeypatch.setenv("MY_LLM_KEY", "secret-token")
    _, _, headers = OptoPrimeProposer(OptoPrimeConfig(api_key_env="MY_LLM_KEY")).request("hi")
    assert headers == {"Authorization": "Bearer secret-token"}


@pytest.mark.parametrize("content", ["no json here", "{not json}", "[1, 2]", '{"suggestion": [1]}'])
def test_unusable_reply_keeps_the_parameters_and_says_why(content) -> None:
    x, y = _workflow()
    opt = WorkflowOptimizer([x], OptoPrimeProposer(OptoPrimeConfig(api_key_env=None), ScriptedTransport([content])))
    opt.backward(y, "too high by 12")
    step = opt.step()
    assert step.updates == {} and x.value == 1.0 and "kept" in step.reasoning


def test_unknown_variables_and_uncastable_values_are_not_applied() -> None:
    x, y = _workflow()
    reply = json.dumps({"reasoning": "r", "suggestion": {"x": "lots", "k": 7}})
    opt = WorkflowOptimizer([x], OptoPrimeProposer(OptoPrimeConfig(api_key_env=None), ScriptedTransport([reply])))
    opt.backward(y, "too high by 12")
    step = opt.step()
    assert step.updates == {} and "x" in step.rejected and "ignored unknown variables: k" in step.reasoning


def test_memory_is_fifo_and_shown() -> None:
    x, y = _workflow()
    replies = [json.dumps({"suggestion": {"x": v}}) for v in (0.5, 0.4, 0.3)]
    transport = ScriptedTransport(replies)
    prop = OptoPrimeProposer(OptoPrimeConfig(api_key_env=None, memory_size=1), transport)
    opt = WorkflowOptimizer([x], prop)
    for fb in ("first", "second", "third"):
        y = abs(scale(x, 3.0) + 1.0) ** 2
        opt.zero_feedback()
        opt.backward(y, fb)
        opt.step()
    last = transport.requests[-1][1]["messages"][1]["content"]
    assert "#Memory" in last and "feedback=second" in last and "feedback=first" not in last
    assert x.value == 0.3


def test_reply_without_choices_raises() -> None:
    x, y = _workflow()
    prop = OptoPrimeProposer(OptoPrimeConfig(api_key_env=None), lambda *a: {"error": "quota"})
    opt = WorkflowOptimizer([x], prop)
    opt.backward(y, "too high")
    with pytest.raises(LLMError, match="choices"):
        opt.step()


def test_unreachable_endpoint_is_an_llm_error() -> None:
    x, y = _workflow()
    cfg = OptoPrimeConfig(api_key_env=None, base_url="http://127.0.0.1:9/v1", timeout_s=2.0)
    opt = WorkflowOptimizer([x], OptoPrimeProposer(cfg))
    opt.backward(y, "too high")
    with pytest.raises(LLMError, match="could not be used"):
        opt.step()


@pytest.mark.parametrize(("field", "value"), [("model", ""), ("base_url", "ftp://x"), ("max_tokens", 0),
                                              ("temperature", 3.0), ("memory_size", -1), ("timeout_s", 0.0)])
def test_config_validation_names_the_parameter(field, value) -> None:
    with pytest.raises(InvalidParameterError, match=f"The '{field}' parameter of OptoPrimeConfig"):
        OptoPrimeConfig(**{field: value})

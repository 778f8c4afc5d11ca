"""OptoPrime-style proposer: show a language model the trace and feedback, parse its suggestion.

Cheng et al. (2024), Sec. 4: OptoPrime renders the executed subgraph as a small pseudo-program with
sections for the code, the operations' documentation, the trainable variables, the constraints, the
inputs, the other intermediate values, the outputs and the feedback, and asks the model for a JSON
object ``{"reasoning": ..., "answer": ..., "suggestion": {variable: new value}}``. The suggested
values are cast to each variable's type by the optimizer. A FIFO memory of earlier (variables,
feedback) pairs may be included (``memory_size``).

The model is reached through any OpenAI-compatible ``/chat/completions`` endpoint that the user
configures (`OptoPrimeConfig.base_url`), with the standard library's HTTP client only. The transport
is pluggable, so tests pass a scripted fake and nothing here touches a network unless a user calls
it with the default transport. Deviations from the reference implementation: the instruction text is
our own wording; code is not reformatted (no ``black`` dependency); a reply that cannot be parsed
proposes nothing (the step keeps the parameters and says why) instead of retrying.
"""

from __future__ import annotations

import json
import os
import re
import urllib.request
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from guardopt.core.errors import GuardoptError, InvalidParameterError, check_in_range, check_int
from guardopt.workflow.graph import Node
from guardopt.workflow.propagation import TraceGraph
from guardopt.workflow.proposers import Proposal, ProposalContext

__all__ = ["LLMError", "OptoPrimeConfig", "OptoPrimeProposer", "Transport", "http_transport", "render_prompt"]

#: ``(url, json payload, headers, timeout seconds) -> decoded JSON response``.
Transport = Callable[[str, Mapping[str, Any], Mapping[str, str], float], Mapping[str, Any]]


class LLMError(GuardoptError, RuntimeError):
    """The language-model endpoint could not be reached or answered something unusable."""


@dataclass(frozen=True)
class OptoPrimeConfig:
    """Settings of `OptoPrimeProposer`.

    Args:
        model: The model name sent to the endpoint.
        base_url: The OpenAI-compatible API root, e.g. ``"http://localhost:8000/v1"``.
        api_key_env: Environment variable holding the API key (None: send no key).
        max_tokens: Largest reply, in tokens (the reference default is 4096).
        temperature: Sampling temperature, in [0, 2].
        memory_size: How many earlier (variables, feedback) pairs to show (0: none).
        timeout_s: HTTP timeout in seconds, > 0.
    """

    model: str = "gpt-4o"
    base_url: str = "http://localhost:8000/v1"
    api_key_env: str | None = "OPENAI_API_KEY"
    max_tokens: int = 4096
    temperature: float = 0.0
    memory_size: int = 0
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not isinstance(self.model, str) or not self.model:
            raise InvalidParameterError("model", "OptoPrimeConfig", "a non-empty string", self.model)
        if not isinstance(self.base_url, str) or not re.match(r"^https?://", self.base_url):
            raise InvalidParameterError("base_url", "OptoPrimeConfig", "an http(s) URL", self.base_url)
        if self.api_key_env is not None and (not isinstance(self.api_key_env, str) or not self.api_key_env):
            raise InvalidParameterError("api_key_env", "OptoPrimeConfig", "None or a variable name", self.api_key_env)
        check_int(self.max_tokens, "max_tokens", "OptoPrimeConfig", 1)
        check_in_range(self.temperature, "temperature", "OptoPrimeConfig", 0.0, 2.0, low_open=False, high_open=False)
        check_int(self.memory_size, "memory_size", "OptoPrimeConfig", 0)
        check_in_range(self.timeout_s, "timeout_s", "OptoPrimeConfig", 0.0, 3600.0, high_open=False)


def http_transport(url: str, payload: Mapping[str, Any], headers: Mapping[str, str],
                   timeout: float) -> Mapping[str, Any]:
    """POST ``payload`` as JSON with `urllib` and decode the JSON reply (errors become `LLMError`)."""
    req = urllib.request.Request(url, data=json.dumps(payload).encode(), method="POST",
                                 headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read().decode())
    except (OSError, ValueError) as exc:  # URLError, HTTPError, timeouts and bad JSON
        raise LLMError(f"The endpoint {url} could not be used: {type(exc).__name__}: {exc}") from exc


INSTRUCTION = (
    "You are improving the trainable variables of a program. Below is the part of the program that ran, "
    "the values it computed and feedback on its output. Change the variables in #Variables so that the "
    "feedback is addressed. Only the variables in #Variables may be changed; respect #Constraints."
)

OUTPUT_FORMAT = (
    'Reply with one JSON object and nothing else: {"reasoning": "<your reasoning>", "answer": '
    '"<an answer if the question needs no change, else empty>", "suggestion": {"<variable name>": <new value>}}'
)


def _fmt(v: Any) -> str:
    return repr(v)


def _type_name(v: Any) -> str:
    return type(v).__name__


def render_prompt(graph: TraceGraph, feedback: str, memory: list[tuple[dict[str, Any], str]] | None = None) -> str:
    """The user message for one step: the trace as a pseudo-program, with its sections.

    Sections: #Instruction, #Code, #Documentation, #Variables, #Constraints, #Inputs, #Others,
    #Outputs, #Feedback (and #Memory when ``memory`` is not empty), then the reply format.
    """
    # Only the graph's parameters may be changed (a suggestion for any other name is dropped), so only they
    # are #Variables; another trainable node the output depends on is an input here.
    trainable = list(graph.parameters)
    ops = list(graph.operations)
    op_ids = {n.uid for n in ops}
    inputs = list(graph.inputs)
    others = [n for n in ops if n.uid != graph.output.uid]
    # Variables keep their names (the reply refers to them); every other node gets a name local to
    # this graph, so the same workflow always renders the same prompt.
    label: dict[int, str] = {n.uid: n.name for n in trainable}
    counts: dict[str, int] = {}
    for n in graph.nodes:
        if n.uid in label:
            continue
        if not n.auto_named:
            label[n.uid] = n.name  # a named input or operation output
            continue
        stem = n.op if n.op is not None else "const"
        label[n.uid] = f"{stem}{counts.get(stem, 0)}"
        counts[stem] = counts.get(stem, 0) + 1

    def show(n: Node) -> str:
        return f"({_type_name(n.value)}) {label[n.uid]}={_fmt(n.value)}"

    def call(n: Node) -> str:
        args = ", ".join(label.get(p.uid, p.name) for p in n.parents if not p.name.startswith("__code_"))
        return f"{label[n.uid]} = {n.op}({args})"

    code = [call(n) for n in ops]
    docs = {}
    for n in ops:
        if n.op is not None and n.op not in docs:
            docs[n.op] = (n.doc or "").strip() or "(no documentation)"
    lines = ["#Instruction", INSTRUCTION, "", "#Code", *code, "", "#Documentation"]
    lines += [f"[{op}] {doc}" for op, doc in docs.items()]
    lines += ["", "#Variables"]
    lines += [show(n) for n in trainable]
    lines += ["", "#Constraints"]
    lines += [f"({n.name}) {n.description}" for n in trainable if n.description] or ["(none)"]
    lines += ["", "#Inputs"]
    lines += [show(n) for n in inputs] or ["(none)"]
    lines += ["", "#Others"]
    lines += [show(n) for n in others] or ["(none)"]
    lines += ["", "#Outputs", show(graph.output)]
    if graph.output.uid not in op_ids and not graph.output.trainable:
        lines[-1] += "  (an input: no variable affects it)"
    lines += ["", "#Feedback", feedback]
    if memory:
        lines += ["", "#Memory (earlier variables and their feedback, oldest first)"]
        for values, fb in memory:
            lines.append(f"variables={json.dumps(values, default=repr, sort_keys=True)} feedback={fb}")
    lines += ["", OUTPUT_FORMAT]
    return "\n".join(lines) + "\n"


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)


def parse_reply(content: str) -> dict[str, Any]:
    """The JSON object of a reply (inside a code fence or bare), or raise `LLMError`."""
    if not isinstance(content, str):
        raise LLMError(f"The reply content must be a string. Got {type(content).__name__} instead.")
    fenced = _FENCE.search(content)
    text = fenced.group(1) if fenced else content
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise LLMError("The reply contains no JSON object.")
    try:
        obj = json.loads(text[start : end + 1])
    except json.JSONDecodeError as exc:
        raise LLMError(f"The reply's JSON could not be parsed: {exc}") from exc
    if not isinstance(obj, dict):
        raise LLMError("The reply's JSON is not an object.")
    return obj


class OptoPrimeProposer:
    """A proposer that asks a language model, shown the trace (OptoPrime, Cheng et al., 2024).

    Args:
        config: Endpoint and prompt settings.
        transport: How a request is sent (default `http_transport`); tests pass a scripted fake.
    """

    uses_trace = True

    def __init__(self, config: OptoPrimeConfig | None = None, transport: Transport | None = None) -> None:
        self.config = config if config is not None else OptoPrimeConfig()
        if not isinstance(self.config, OptoPrimeConfig):
            raise InvalidParameterError("config", "OptoPrimeProposer", "an OptoPrimeConfig", config)
        if transport is not None and not callable(transport):
            raise InvalidParameterError("transport", "OptoPrimeProposer", "None or a callable", transport)
        self.transport: Transport = transport if transport is not None else http_transport
        self.memory: deque[tuple[dict[str, Any], str]] = deque(maxlen=max(1, self.config.memory_size))
        self.last_prompt: str | None = None

    def request(self, prompt: str) -> tuple[str, dict[str, Any], dict[str, str]]:
        """The URL, JSON payload and headers of the chat-completion request for ``prompt``."""
        cfg = self.config
        payload = {
            "model": cfg.model,
            "messages": [{"role": "system", "content": "You are a careful optimizer of program parameters."},
                         {"role": "user", "content": prompt}],
            "max_tokens": cfg.max_tokens,
            "temperature": cfg.temperature,
        }
        headers: dict[str, str] = {}
        key = os.environ.get(cfg.api_key_env) if cfg.api_key_env else None
        if key:
            headers["Authorization"] = f"Bearer {key}"
        return cfg.base_url.rstrip("/") + "/chat/completions", payload, headers

    def propose(self, context: ProposalContext) -> Proposal:
        """Render the prompt, ask the model, and turn its suggestion into a proposal.

        A reply without a usable JSON suggestion proposes nothing (reasoning says why); an
        unreachable endpoint raises `LLMError`.
        """
        graph = context.graph
        if graph is None:
            raise InvalidParameterError("context", "OptoPrimeProposer.propose", "a context with a graph", None)
        memory = list(self.memory) if self.config.memory_size > 0 else []
        prompt = render_prompt(graph, context.feedback, memory)
        self.last_prompt = prompt
        if self.config.memory_size > 0:
            self.memory.append(({n.name: n.value for n in graph.parameters}, context.feedback))
        url, payload, headers = self.request(prompt)
        reply = self.transport(url, payload, headers, self.config.timeout_s)
        try:
            content = reply["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError) as exc:
            raise LLMError("The endpoint's reply has no choices[0].message.content.") from exc
        try:
            obj = parse_reply(content)
        except LLMError as exc:
            return Proposal({}, f"the model's reply could not be used ({exc}); parameters kept")
        suggestion = obj.get("suggestion", {})
        reasoning = str(obj.get("reasoning", ""))
        if not isinstance(suggestion, dict):
            return Proposal({}, "the model's suggestion is not an object; parameters kept")
        known = {n.name for n in graph.parameters}
        updates = {k: v for k, v in suggestion.items() if k in known}
        dropped = sorted(set(suggestion) - known)
        if dropped:
            reasoning += f" (ignored unknown variables: {', '.join(map(str, dropped))})"
        return Proposal(updates, reasoning)

"""One tool-call format from training to serving.

Each conversation is rendered twice: as vLLM renders a LangChain request (LangChain's OpenAI payload,
vLLM's message parsing, the served Jinja template through transformers) and as ms-swift encodes the
equivalent agent-format row with `agentgraph_gemma3` + `agentgraph_pythonic`. The token ids must be
identical, the prompt before every model turn must be what vLLM sends for generation, only the model
turns may carry loss, and vLLM's `pythonic` parser must read each trained call back exactly.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

import pytest
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage, ToolMessage
from langchain_core.tools import tool
from langchain_core.utils.function_calling import convert_to_openai_tool

from agentgraph.agents import DEFAULT_AGENTS
from agentgraph.agents.math import MATH
from agentgraph.agents.writing import WRITING
from agentgraph.finetune.datasets.common import swift_row, tool_call
from agentgraph.finetune.datasets.retrieval import retrieval_agent
from agentgraph.router import ROUTER_PROMPT, handoff_tools
from agentgraph.serving.profile import GEMMA3_270M_CPU

TRICKY = 'He said "hi" & it\'s <b>fine</b>\nnext line\ttab \\ back, café ≈ 5 € 😀 {braces} [x] \u2028 end'


@tool
def schedule(day: str, hour: int, urgent: bool = False, tags: list[str] | None = None, meta: dict | None = None) -> str:
    """Book a slot.
    Any day of the week."""
    return "booked"


RICH_TOOL = {
    "type": "function",
    "function": {
        "name": "ship",
        "description": "Ship a parcel.",
        "parameters": {
            "type": "object",
            "properties": {
                "to": {"type": "object", "properties": {"street": {"type": "string"}, "city": {"type": "string"}}},
                "speed": {"type": "string", "enum": ["slow", "fast"], "default": "slow"},
                "weights": {"type": "array", "items": {"type": "number"}},
                "code": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
                "note": {"anyOf": [{"type": "integer"}, {"type": "string"}]},
            },
            "required": ["to"],
        },
    },
}
"""Enum, nested object, typed array and optional parameters: the listing shows each the same way in both renderers."""


@dataclass(frozen=True)
class Case:
    name: str
    messages: list[BaseMessage]
    tools: list[dict] | None = None


ROUTER_TOOLS = [convert_to_openai_tool(t) for t in handoff_tools(DEFAULT_AGENTS)]
SEARCH_TOOLS = retrieval_agent().openai_tools()

CASES = [
    Case(
        "math call and answer",
        [
            SystemMessage(MATH.system_prompt),
            HumanMessage("What is 123*45?"),
            AIMessage("", tool_calls=[tool_call("calculator", "c1", expression="123*45")]),
            ToolMessage("5535", tool_call_id="c1"),
            AIMessage("The answer is 5535."),
        ],
        MATH.openai_tools(),
    ),
    Case(
        "several calls in one turn",
        [
            SystemMessage(ROUTER_PROMPT),
            HumanMessage("What is 15% of 80? Then email Sam the result."),
            AIMessage(
                "",
                tool_calls=[
                    tool_call("transfer_to_math", "a", task="What is 15% of 80?"),
                    tool_call("transfer_to_writing", "b", task="Then email Sam the result."),
                ],
            ),
            ToolMessage("Transferred to math.", tool_call_id="a"),
            ToolMessage("Transferred to writing.", tool_call_id="b"),
            AIMessage("Done."),
        ],
        ROUTER_TOOLS,
    ),
    Case(
        "router turn ends after the calls",
        [
            SystemMessage(ROUTER_PROMPT),
            HumanMessage("Look up when Veltrana Systems was founded."),
            AIMessage("", tool_calls=[tool_call("transfer_to_retrieval", "a", task="Look up when Veltrana Systems was founded.")]),
        ],
        ROUTER_TOOLS,
    ),
    Case(
        "no tools",
        [
            SystemMessage(WRITING.system_prompt),
            HumanMessage("Write a note in at most 20 words.\nFacts:\n- The demo moved to Friday."),
            AIMessage("Note: The demo moved to Friday."),
        ],
    ),
    Case(
        "no system, multi-turn",
        [
            HumanMessage("Hello"),
            AIMessage("Hi! How can I help?"),
            HumanMessage("Say bye."),
            AIMessage("Bye."),
        ],
    ),
    Case(
        "enum, nested and list arguments, two calls in one turn",
        [
            HumanMessage("Ship to 4 Elm Road, Oslo fast, and to 9 Bay Street, Lima."),
            AIMessage(
                "",
                tool_calls=[
                    tool_call("ship", "s1", to={"street": "4 Elm Road", "city": "Oslo"}, speed="fast", weights=[1.5, 2.0]),
                    tool_call("ship", "s2", to={"street": "9 Bay Street", "city": "Lima"}, code=7),
                ],
            ),
        ],
        [RICH_TOOL],
    ),
    Case(
        "tools without a system prompt, two rounds",
        [
            HumanMessage("Solve 2x+3=11"),
            AIMessage("", tool_calls=[tool_call("solve", "1", equations="2*x+3=11")]),
            ToolMessage("x: 4", tool_call_id="1"),
            AIMessage("The answer is x: 4."),
            HumanMessage("And 15% of 80?"),
            AIMessage("", tool_calls=[tool_call("calculator", "2", expression="15%*80")]),
            ToolMessage("12", tool_call_id="2"),
            AIMessage("The answer is 12."),
        ],
        MATH.openai_tools(),
    ),
    Case(
        "retry after a tool error",
        [
            SystemMessage(MATH.system_prompt),
            HumanMessage("What's 12 x 5?"),
            AIMessage("", tool_calls=[tool_call("calculator", "1", expression="12 x 5")]),
            ToolMessage("calculator: not a mathematical expression: '12 x 5'", tool_call_id="1"),
            AIMessage("", tool_calls=[tool_call("calculator", "2", expression="12*5")]),
            ToolMessage("60", tool_call_id="2"),
            AIMessage("The answer is 60."),
        ],
        MATH.openai_tools(),
    ),
    Case(
        "retrieval with passages",
        [
            SystemMessage(retrieval_agent().system_prompt),
            HumanMessage("When was Veltrana Systems founded?"),
            AIMessage("", tool_calls=[tool_call("search", "s", query="Veltrana Systems founded")]),
            ToolMessage("[veltrana.md] Veltrana Systems was founded in 1987.\n[other.txt] Nothing here.", tool_call_id="s"),
            AIMessage("Veltrana Systems was founded in 1987. [source: veltrana.md]"),
        ],
        SEARCH_TOOLS,
    ),
    Case(
        "tricky strings",
        [
            SystemMessage('Quote <exactly> & keep "everything".'),
            HumanMessage(TRICKY),
            AIMessage("", tool_calls=[tool_call("search", "s", query=TRICKY)]),
            ToolMessage(TRICKY, tool_call_id="s"),
            AIMessage(TRICKY),
        ],
        SEARCH_TOOLS,
    ),
    Case(
        "typed arguments",
        [
            HumanMessage("Book Monday 9am, urgent."),
            AIMessage(
                "",
                tool_calls=[
                    tool_call("schedule", "1", day="Mon", hour=9, urgent=True, tags=["a", "b c"], meta={"k": None, "n": 1.5}),
                    tool_call("schedule", "2", day='Tue "late"', hour=-3, urgent=False),
                ],
            ),
            ToolMessage("booked", tool_call_id="1"),
            ToolMessage("booked", tool_call_id="2"),
            AIMessage("Booked both."),
        ],
        [convert_to_openai_tool(schedule)],
    ),
]


def _model_config() -> Any:
    """What vLLM's message parsing reads from the model config for a text-only model."""
    return SimpleNamespace(multimodal_config=None, enable_prompt_embeds=False)


class VllmSide:
    """vLLM's path from a LangChain request to prompt token ids, with the served template."""

    def __init__(self, tokenizer: Any) -> None:
        from vllm.renderers.chat_utils import load_chat_template

        self.tokenizer = tokenizer
        self.chat_template = load_chat_template(GEMMA3_270M_CPU.chat_template_path)

    def request(self, messages: list[BaseMessage], tools: list[dict] | None) -> Any:
        from langchain_openai.chat_models.base import _convert_message_to_dict
        from vllm.entrypoints.openai.chat_completion.protocol import ChatCompletionRequest

        payload = [_convert_message_to_dict(m) for m in messages]
        return ChatCompletionRequest(model="agent", messages=payload, tools=tools or None)

    def ids(self, messages: list[BaseMessage], tools: list[dict] | None, add_generation_prompt: bool) -> list[int]:
        from vllm.renderers.chat_utils import parse_chat_messages
        from vllm.renderers.hf import safe_apply_chat_template

        request = self.request(messages, tools)
        tool_dicts = [t.model_dump() for t in request.tools] if request.tools else None
        conversation, _, _ = parse_chat_messages(request.messages, _model_config(), content_format="string")
        return safe_apply_chat_template(
            _model_config(),
            self.tokenizer,
            conversation,
            tools=tool_dicts,
            chat_template=self.chat_template,
            tokenize=True,
            add_generation_prompt=add_generation_prompt,
        )


@pytest.fixture(scope="module")
def vllm_side(tokenizer: Any) -> VllmSide:
    return VllmSide(tokenizer)


def _trained_runs(labels: list[int]) -> list[tuple[int, int]]:
    """(start, end) of each run of tokens that carry loss."""
    runs, start = [], None
    for i, label in enumerate([*labels, -100]):
        if label != -100 and start is None:
            start = i
        elif label == -100 and start is not None:
            runs.append((start, i))
            start = None
    return runs


def test_vllm_reads_the_template_as_plain_text_content(vllm_side: VllmSide) -> None:
    from vllm.renderers.hf import _detect_content_format

    assert _detect_content_format(vllm_side.chat_template, default="openai") == "string"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_training_and_serving_tokens_are_identical(case: Case, vllm_side: VllmSide, swift_template: Any, tokenizer: Any) -> None:
    served = vllm_side.ids(case.messages, case.tools, add_generation_prompt=False)
    encoded = swift_template.encode(swift_row(case.messages, case.tools))
    assert encoded["input_ids"] == served, f"\nswift: {tokenizer.decode(encoded['input_ids'])!r}\nvllm:  {tokenizer.decode(served)!r}"
    assert served[0] == tokenizer.bos_token_id and served.count(tokenizer.bos_token_id) == 1
    assert tokenizer.decode(served[-1:]) == "<end_of_turn>"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_model_turn_follows_the_served_generation_prompt(
    case: Case, vllm_side: VllmSide, swift_template: Any, tokenizer: Any
) -> None:
    encoded = swift_template.encode(swift_row(case.messages, case.tools))
    runs = _trained_runs(encoded["labels"])
    model_turns = [i for i, m in enumerate(case.messages) if isinstance(m, AIMessage)]
    assert len(runs) == len(model_turns), "one trained run per model turn, nothing else trained"
    end_of_turn = tokenizer.convert_tokens_to_ids("<end_of_turn>")
    for (start, end), index in zip(runs, model_turns, strict=True):
        prompt = vllm_side.ids(case.messages[:index], case.tools, add_generation_prompt=True)
        assert encoded["input_ids"][:start] == prompt
        assert encoded["input_ids"][end - 1] == end_of_turn, "the turn end is trained, so the adapter stops"
        assert encoded["labels"][start:end] == encoded["input_ids"][start:end]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_swift_generation_prompt_matches_vllm(case: Case, vllm_side: VllmSide, swift_template: Any) -> None:
    last_model_turn = max(i for i, m in enumerate(case.messages) if isinstance(m, AIMessage))
    history = case.messages[:last_model_turn]
    swift_template.set_mode("transformers")
    try:
        prompt = swift_template.encode(swift_row(history, case.tools))["input_ids"]
    finally:
        swift_template.set_mode("train")
    assert prompt == vllm_side.ids(history, case.tools, add_generation_prompt=True)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_vllm_pythonic_parser_reads_the_trained_calls(case: Case, vllm_side: VllmSide, swift_template: Any, tokenizer: Any) -> None:
    from vllm.tool_parsers.pythonic_tool_parser import PythonicToolParser

    encoded = swift_template.encode(swift_row(case.messages, case.tools))
    runs = _trained_runs(encoded["labels"])
    turns = [m for m in case.messages if isinstance(m, AIMessage)]
    request = vllm_side.request(case.messages, case.tools)
    for (start, end), message in zip(runs, turns, strict=True):
        reply = tokenizer.decode(encoded["input_ids"][start : end - 1])  # what the model emits before its stop token
        parsed = PythonicToolParser(tokenizer).extract_tool_calls(reply, request)
        if message.tool_calls:
            assert parsed.tools_called, reply
            got = [(c.function.name, json.loads(c.function.arguments)) for c in parsed.tool_calls]
            assert got == [(c["name"], c["args"]) for c in message.tool_calls]
        else:
            assert not parsed.tools_called and parsed.content == message.content


def test_tool_listing_is_terse(vllm_side: VllmSide, tokenizer: Any) -> None:
    messages = [SystemMessage(MATH.system_prompt), HumanMessage("What is 2+2?")]
    text = tokenizer.decode(vllm_side.ids(messages, MATH.openai_tools(), add_generation_prompt=True))
    assert text == (
        f"<bos><start_of_turn>system\n{MATH.system_prompt}\nTools:\n"
        "calculator(expression: str) - Exact value of an arithmetic expression, e.g. 12*(3+4) or 15%*80.\n"
        "solve(equations: str) - Solve an equation or a system separated by ';', e.g. 2*x+3=11.\n"
        'Call tools as [name(arg="value")].<end_of_turn>\n'
        "<start_of_turn>user\nWhat is 2+2?<end_of_turn>\n<start_of_turn>model\n"
    )
    schedule_line = tokenizer.decode(vllm_side.ids(messages, [convert_to_openai_tool(schedule)], True)).split("\n")[3]
    assert schedule_line == (
        "schedule(day: str, hour: int, urgent: bool = False, tags: list[str] = None, meta: dict = None) - Book a slot. Any day of the week."
    )
    rich_line = tokenizer.decode(vllm_side.ids(messages, [RICH_TOOL], True)).split("\n")[3]
    assert rich_line == (
        'ship(to: {street: str, city: str}, speed: "slow"|"fast" = "slow", weights: list[float] = None, '
        "code: int = None, note: any = None) - Ship a parcel."
    )


def test_hand_written_swift_row_matches_the_converted_one() -> None:
    case = CASES[1]
    assert swift_row(case.messages, case.tools) == {
        "tools": json.dumps(ROUTER_TOOLS, ensure_ascii=False),
        "messages": [
            {"role": "system", "content": ROUTER_PROMPT},
            {"role": "user", "content": "What is 15% of 80? Then email Sam the result."},
            {"role": "tool_call", "content": '{"name": "transfer_to_math", "arguments": {"task": "What is 15% of 80?"}}'},
            {"role": "tool_call", "content": '{"name": "transfer_to_writing", "arguments": {"task": "Then email Sam the result."}}'},
            {"role": "tool_response", "content": "Transferred to math."},
            {"role": "tool_response", "content": "Transferred to writing."},
            {"role": "assistant", "content": "Done."},
        ],
    }


def test_a_later_system_message_keeps_its_own_turn(vllm_side: VllmSide, tokenizer: Any) -> None:
    messages = [SystemMessage("Be brief."), HumanMessage("Hi"), AIMessage("Hello."), SystemMessage("Now be formal."), HumanMessage("Bye")]
    text = tokenizer.decode(vllm_side.ids(messages, None, add_generation_prompt=True))
    assert text == (
        "<bos><start_of_turn>system\nBe brief.<end_of_turn>\n<start_of_turn>user\nHi<end_of_turn>\n"
        "<start_of_turn>model\nHello.<end_of_turn>\n<start_of_turn>system\nNow be formal.<end_of_turn>\n"
        "<start_of_turn>user\nBye<end_of_turn>\n<start_of_turn>model\n"
    )

"""A user's own agent: loading it, its example file (errors name file and line), tool schemas the
template cannot carry, widened rows, the `tools` adapter it starts from (errors name a wrong base model)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from langchain_core.tools import StructuredTool, tool

from agentgraph.agent import AgentSpec
from agentgraph.errors import ConfigError
from agentgraph.finetune.custom import (
    ExampleFileError,
    ToolSchemaError,
    build_rows,
    calls_match,
    check_tool_schemas,
    expected_calls,
    load_agent,
    read_examples,
    starting_adapter,
)
from agentgraph.finetune.rows import row_problem

ROOT = Path(__file__).resolve().parents[2]
UNITS_REF = f"{ROOT / 'notebooks' / 'units_agent.py'}:UNITS"
EXAMPLES = ROOT / "notebooks" / "units_examples.jsonl"


@pytest.fixture(scope="module")
def units() -> AgentSpec:
    return load_agent(UNITS_REF)


def write(tmp_path: Path, *lines: str) -> Path:
    path = tmp_path / "examples.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


GOOD = '{"request": "Convert 5 miles to kilometres.", "calls": [{"name": "convert_units", "args": {"value": 5, "from_unit": "mi", "to_unit": "km"}}]}'


def test_the_shipped_example_file_is_valid(units: AgentSpec) -> None:
    examples = read_examples(EXAMPLES, units)
    assert 10 <= len(examples) <= 14
    assert any(len(e.calls) == 2 for e in examples) and any(not e.calls for e in examples)


def test_load_agent_by_path_and_by_module(units: AgentSpec) -> None:
    assert units.name == "units" and units.tool("convert_units") is not None
    assert load_agent("agentgraph.agents.math:MATH").name == "math"
    with pytest.raises(ConfigError, match="must look like module:attribute"):
        load_agent("notebooks/units_agent.py")
    with pytest.raises(ConfigError, match="has no attribute 'NOPE'"):
        load_agent(f"{ROOT / 'notebooks' / 'units_agent.py'}:NOPE")
    with pytest.raises(ConfigError, match="not an AgentSpec"):
        load_agent(f"{ROOT / 'notebooks' / 'units_agent.py'}:UNITS_SI")


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a"]', "must be a JSON object"),
        ('{"request": "x", "calls": [], "extra": 1}', "unknown key 'extra'"),
        ('{"request": "", "calls": []}', "'request' must be a non-empty string"),
        ('{"request": "Tell me a joke.", "calls": []}', "needs the plain 'answer'"),
        (
            '{"request": "x", "calls": [{"name": "send_email", "args": {}}]}',
            r"calls tool 'send_email', which agent 'units' does not have \(its tools: convert_units\)",
        ),
        (
            '{"request": "x", "calls": [{"name": "convert_units", "args": {"value": 5, "from_unit": "mi"}}]}',
            "convert_units needs 'to_unit'",
        ),
        (
            '{"request": "x", "calls": [{"name": "convert_units", "args": {"value": "five", "from_unit": "mi", "to_unit": "km"}}]}',
            r"convert_units\(value=...\) should be number",
        ),
        (
            '{"request": "x", "calls": [{"name": "convert_units", "args": {"value": 5, "from_unit": "mi", "to_unit": "km", "round": 2}}]}',
            "has no parameter 'round'",
        ),
    ],
)
def test_a_bad_example_names_its_file_and_line(units: AgentSpec, tmp_path: Path, line: str, message: str) -> None:
    path = write(tmp_path, "# a comment", GOOD, "", line)
    with pytest.raises(ExampleFileError, match=message) as failure:
        read_examples(path, units)
    assert str(failure.value).startswith(f"{path}:4: ")


def test_an_empty_or_missing_file_is_named(units: AgentSpec, tmp_path: Path) -> None:
    with pytest.raises(ExampleFileError, match="no such example file"):
        read_examples(tmp_path / "none.jsonl", units)
    with pytest.raises(ExampleFileError, match="no examples"):
        read_examples(write(tmp_path, "# only a comment"), units)


def _agent(*tools: object) -> AgentSpec:
    return AgentSpec(name="mine", description="d", system_prompt="p", tools=tools)  # type: ignore[arg-type]


def test_tool_schemas_the_template_cannot_carry_are_named() -> None:
    def fn(city: str) -> str:
        return city

    dashed = StructuredTool.from_function(fn, name="get-weather", description="Weather.")
    with pytest.raises(ToolSchemaError, match="agent 'mine', tool 'get-weather': the name is not a Python identifier"):
        check_tool_schemas(_agent(dashed))

    @tool
    def lookup(key: int | str) -> str:
        """Look a key up."""
        return str(key)

    with pytest.raises(ToolSchemaError, match="tool 'lookup', parameter 'key': a union of several types"):
        check_tool_schemas(_agent(lookup))

    @tool
    def fine(city: str, days: int | None = None, tags: list[str] | None = None) -> str:
        """Optional values are listed as their type."""
        return city

    assert check_tool_schemas(_agent(fine))[0]["function"]["name"] == "fine"


def test_widened_rows_are_consistent_and_held_out(units: AgentSpec) -> None:
    examples = read_examples(EXAMPLES, units)
    splits = build_rows(units, examples, seed=0)
    assert len(splits["train"]) > 40 and splits["val"] and len(splits["test"]) > 10
    held_requests = {e.request for i, e in enumerate(examples) if i % 3 == 2}
    train_requests = {next(m["content"] for m in r["messages"] if m["role"] == "user") for r in splits["train"]}
    assert not held_requests & train_requests
    widened = 0
    for row in splits["train"] + splits["test"]:
        assert row_problem({k: v for k, v in row.items() if not k.startswith("_")}) is None
        calls = expected_calls(row)
        responses = [m["content"] for m in row["messages"] if m["role"] == "tool_response"]
        for (name, args), response in zip(calls, responses, strict=False):
            # the real tool's result for the (widened) arguments
            assert response == units.tool(name).invoke(args)
        request = row["messages"][1]["content"]
        for _, args in calls:
            widened += str(args["value"]).removesuffix(".0") in request and args["value"] not in (
                5,
                3,
                100,
                12,
                2,
                8,
                30,
                68,
                10,
                4,
                1.5,
                250,
            )
        if responses and row["messages"][-1]["role"] == "assistant":
            assert all(r in row["messages"][-1]["content"] for r in responses)
    assert widened > 20, "argument values are widened"


def test_calls_match_ignores_order_case_and_float_noise() -> None:
    expected = [("convert_units", {"value": 5, "from_unit": "mi", "to_unit": "km"})]
    assert calls_match(expected, [("convert_units", {"value": 5.0, "from_unit": "MI", "to_unit": "km"})])
    assert not calls_match(expected, [("convert_units", {"value": 6, "from_unit": "mi", "to_unit": "km"})])
    assert not calls_match(expected, expected * 2)
    assert calls_match([], [])


def _registry(tmp_path: Path, base_hash: str) -> Path:
    import numpy as np
    from safetensors.numpy import save_file

    folder = tmp_path / "adapters" / "tools"
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": 8, "target_modules": ["q_proj"]}))
    save_file(
        {"base_model.model.layers.0.q_proj.lora_A.weight": np.zeros((8, 4), dtype=np.float16)}, str(folder / "adapter_model.safetensors")
    )
    registry = tmp_path / "adapters" / "registry.toml"
    registry.write_text(f'[adapters.tools]\npath = "tools"\nrank = 8\nbase_model_hash = "{base_hash}"\nversion = "1"\n')
    return registry


def test_the_tools_adapter_of_another_base_model_is_refused(tmp_path: Path) -> None:
    from agentgraph.settings import Settings

    settings = Settings(registry_path=_registry(tmp_path, "aaaa000011112222"))
    assert starting_adapter(settings, "aaaa000011112222") == (tmp_path / "adapters" / "tools").resolve()
    with pytest.raises(ConfigError, match=r"adapter 'tools' .*trained on base model aaaa000011112222, but the server's base model is bbbb"):
        starting_adapter(settings, "bbbb333344445555")


def test_no_registered_tools_adapter_is_named(tmp_path: Path) -> None:
    from agentgraph.finetune.train import TrainingError
    from agentgraph.settings import Settings

    settings = Settings(registry_path=tmp_path / "registry.toml")
    with pytest.raises(TrainingError, match="on top of the 'tools' adapter and none is registered"):
        starting_adapter(settings, "x")


def test_router_rosters_never_hold_the_notebook_agent(units: AgentSpec) -> None:
    from agentgraph.finetune.datasets.router_turns import ROSTER_POOL

    names = {name for name, _, _ in ROSTER_POOL}
    assert units.name not in names, "the router would be trained on the agent notebook 02 shows it has never seen"
    assert not any("unit" in description.lower() for _, description, _ in ROSTER_POOL)

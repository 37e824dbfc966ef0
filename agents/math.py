"""The math agent: exact arithmetic and algebra through sympy tools."""

from __future__ import annotations

import re
from collections.abc import Sequence

from langchain_core.tools import ToolException, tool

from agentgraph import mathexpr
from agentgraph.agent import AgentSpec


@tool
def calculator(expression: str) -> str:
    """Exact value of an arithmetic expression, e.g. 12*(3+4) or 15%*80."""
    try:
        return mathexpr.evaluate(expression)
    except mathexpr.MathInputError as exc:
        raise ToolException(f"calculator: {exc}") from exc


@tool
def solve(equations: str) -> str:
    """Solve an equation or a system separated by ';', e.g. 2*x+3=11."""
    try:
        return mathexpr.solve(equations)
    except mathexpr.MathInputError as exc:
        raise ToolException(f"solve: {exc}") from exc


for _tool in (calculator, solve):
    _tool.handle_tool_error = True


def final_answer(result: str) -> str:
    """How the math agent states a tool's result (the trained reply format)."""
    return f"The answer is {_value(result)}."


def _value(result: str) -> str:
    return result.split(" ≈ ")[-1].strip()


_ASKS = re.compile(r"^(?:please\s+)?(?:what(?:'s| is)|calculate|compute|work out|how much is|find|evaluate|figure out)\s+", re.IGNORECASE)
_PLAIN = re.compile(
    r"^(?:[\d\s%$£€.,+\-*/^()]|\b(?:of|percent|times|plus|minus|divided|by|squared|cubed|square|root|the|and)\b)+$", re.IGNORECASE
)


def math_statement(task: str, answer: str, results: Sequence[str]) -> str:
    """The result as a statement that says what it is: "17% of 2400 is 408." for "What is 17% of 2400?";
    the task then "The answer is 41.85." for a word problem; the model's answer when no tool ran."""
    if not results:
        return answer
    value = _value(results[-1])
    asked = " ".join(task.split()).rstrip(" ?.!=")
    core = _ASKS.sub("", asked).strip()
    if len(core) <= 60 and _PLAIN.match(core) and re.search(r"\d", core):
        return f"{core} is {value}."
    if "=" in value or ";" in value:  # solve's roots: "x = 4"
        return f"{asked}: {value}."
    return f"{asked}{'?' if task.strip().endswith('?') else '.'} The answer is {value}."


MATH = AgentSpec(
    name="math",
    description="Computes numbers: arithmetic, percentages, equations, word problems.",
    system_prompt="You are the math agent. Use a tool for every computation, then state the result.",
    tools=(calculator, solve),
    result_statement=math_statement,
)

"""The math agent: exact arithmetic and algebra through sympy tools."""

from __future__ import annotations

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

MATH = AgentSpec(
    name="math",
    description="Computes numbers: arithmetic, percentages, equations, word problems.",
    system_prompt="You are the math agent. Use a tool for every computation, then state the result.",
    tools=(calculator, solve),
)


def final_answer(result: str) -> str:
    """How the math agent states a tool's result (the trained reply format)."""
    return f"The answer is {result.split(' ≈ ')[-1]}."

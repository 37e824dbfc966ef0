"""The math agent: exact arithmetic and algebra through sympy tools."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

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


_EXPRESSION = re.compile(r"[\d(][\d\s.+\-*/^()×÷]*[\d)]")
_OPERATOR = re.compile(r"\d\s*[+\-*/^×÷]\s*[\d(]|\)\s*[+\-*/^×÷]")


def explicit_expression(task: str) -> str | None:
    """The arithmetic expression a task writes out ("(38 - 19) * (7 + 6) = ?" -> "(38 - 19) * (7 + 6)"), or None
    (also when the task has numbers outside it: then it asks for more than the expression)."""
    found = [m.group(0).strip() for m in _EXPRESSION.finditer(task) if _OPERATOR.search(m.group(0))]
    balanced = [e for e in found if e.count("(") == e.count(")")]
    if not balanced:
        return None
    longest = max(balanced, key=len)
    numbers = re.findall(r"\d+(?:[.,]\d+)*", task)
    inside = re.findall(r"\d+(?:[.,]\d+)*", longest)
    return longest if len(numbers) == len(inside) else None  # a number outside it: the task asks more than the expression


def check_math_call(task: str, tool: str, args: Mapping) -> str | None:
    """A calculator call must compute the expression a task writes out, as written (its value, not a rewrite)."""
    expression = explicit_expression(task)
    given = args.get("expression")
    if tool != "calculator" or expression is None or not isinstance(given, str):
        return None
    try:
        same = mathexpr.evaluate(given) == mathexpr.evaluate(expression.replace("×", "*").replace("÷", "/"))
    except mathexpr.MathInputError:
        return None
    if same:
        return None
    return f"calculator({given!r}) is not the expression the task gives; call calculator(expression={expression!r}) exactly as written"


MATH = AgentSpec(
    name="math",
    description="Computes numbers: arithmetic, percentages, equations, word problems.",
    system_prompt="You are the math agent. Use a tool for every computation, then state the result.",
    tools=(calculator, solve),
    check_call=check_math_call,
    result_statement=math_statement,
)

"""The math agent's sympy tools: exact results, and clear errors for what is not mathematics."""

from __future__ import annotations

import pytest

from agentgraph import mathexpr
from agentgraph.agents.math import calculator, final_answer, solve


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ("123*45", "5535"),
        ("15%*80", "12"),
        ("200*(1+5%)", "210"),
        ("10/4", "2.5"),
        ("1/3", "1/3 ≈ 0.3333333333"),
        ("2^10", "1024"),
        ("sqrt(16)+1", "5"),
        ("0.1+0.2", "0.3"),
        ("365885-811.7", "365073.3"),
        ("123456.78*3", "370370.34"),
        ("1,234 + 1", "1235"),
        ("12 × 3 ÷ 4", "9"),
        ("5/256*60", "1.171875"),
        ("-3/8", "-0.375"),
        ("1/1024", "0.0009765625"),
    ],
)
def test_evaluate_is_exact(expression, value):
    assert mathexpr.evaluate(expression) == value


@pytest.mark.parametrize(
    ("equations", "solution"),
    [
        ("2*x+3=11", "x: 4"),
        ("x^2 - 5*x + 6 = 0", "x: 2; x: 3"),
        ("x+y=10; x-y=4", "x: 7, y: 3"),
        ("x**2=9", "x: -3; x: 3"),
        ("x = x + 1", "no solution"),
    ],
)
def test_solve(equations, solution):
    assert mathexpr.solve(equations) == solution


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("__import__('os').system('true')", "not a mathematical expression"),
        ("open('/etc/passwd')", "not a mathematical expression"),
        ("hello world", "not a mathematical expression"),
        ("x + 1", "unknown name 'x'"),
        ("1/0", "division by zero"),
        ("", "empty expression"),
        ("2**99999999", "exponent too large"),
        ("1" * 600, "longer than 500"),
    ],
)
def test_input_that_is_not_mathematics_is_refused(expression, message):
    with pytest.raises(mathexpr.MathInputError, match=message):
        mathexpr.evaluate(expression)


def test_tools_report_errors_the_agent_can_read():
    assert calculator.invoke({"expression": "7*6"}) == "42"
    assert solve.invoke({"equations": "3*x=12"}) == "x: 4"
    assert calculator.invoke({"expression": "drop table"}).startswith("calculator: not a mathematical expression")
    assert final_answer("1/3 ≈ 0.3333333333") == "The answer is 0.3333333333."

"""Exact arithmetic and algebra on text, with sympy, through a whitelist of syntax (never `eval`)."""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable

import sympy

__all__ = ["evaluate", "format_number", "MathInputError", "MAX_LENGTH", "parse_expression", "solve"]

_BINARY: dict[type[ast.operator], Callable[[sympy.Expr, sympy.Expr], sympy.Expr]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Pow: operator.pow,
    ast.FloorDiv: lambda a, b: sympy.floor(a / b),
}
_UNARY: dict[type[ast.unaryop], Callable[[sympy.Expr], sympy.Expr]] = {ast.USub: operator.neg, ast.UAdd: operator.pos}
_FUNCTIONS: dict[str, Callable[..., sympy.Expr]] = {
    "sqrt": sympy.sqrt,
    "cbrt": sympy.cbrt,
    "abs": sympy.Abs,
    "exp": sympy.exp,
    "log": sympy.log,
    "ln": sympy.log,
    "sin": sympy.sin,
    "cos": sympy.cos,
    "tan": sympy.tan,
    "floor": sympy.floor,
    "ceil": sympy.ceiling,
    "round": lambda x, n=0: sympy.Float(round(float(x), int(n))) if n else sympy.Integer(round(float(x))),
    "factorial": sympy.factorial,
    "min": sympy.Min,
    "max": sympy.Max,
    "gcd": sympy.gcd,
    "lcm": sympy.lcm,
}
_CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}
MAX_LENGTH = 500
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")  # "15%" is read as 15/100


class MathInputError(ValueError):
    """The text is not a mathematical expression or equation this module understands."""


def parse_expression(text: str, symbols: bool = False) -> sympy.Expr:
    """A sympy expression from `text`; names other than known functions and constants are refused
    unless `symbols` is true (then single letters become unknowns)."""
    cleaned = _normalise(text)
    try:
        tree = ast.parse(cleaned, mode="eval")
    except SyntaxError:
        raise MathInputError(f"not a mathematical expression: {text!r}") from None
    return _convert(tree.body, text, symbols)


def evaluate(expression: str) -> str:
    """The exact value of an arithmetic expression, as text (`7`, `2.5`, `1/3 ≈ 0.3333333333`)."""
    value = parse_expression(expression)
    if value.free_symbols:
        raise MathInputError(f"{expression!r} has unknowns ({_names(value)}); use solve for equations")
    return format_number(sympy.nsimplify(value) if value.is_Float else sympy.simplify(value))


def solve(equations: str) -> str:
    """The solutions of one equation or a system separated by `;` or `,` (`x: 4` or `x: 3, y: 7`)."""
    parts = [part for part in _split_equations(equations) if part.strip()]
    if not parts:
        raise MathInputError("no equation given")
    system = []
    for part in parts:
        sides = part.split("=")
        if len(sides) > 2:
            raise MathInputError(f"an equation has one '=': {part!r}")
        left = parse_expression(sides[0], symbols=True)
        right = parse_expression(sides[1], symbols=True) if len(sides) == 2 else sympy.Integer(0)
        equation = sympy.Eq(left, right)
        if equation is sympy.false:
            return "no solution"
        if equation is not sympy.true:
            system.append(equation)
    if not system:
        return "every value is a solution"
    unknowns = sorted(set().union(*(eq.free_symbols for eq in system)), key=str)
    if not unknowns:
        raise MathInputError(f"{equations!r} has no unknown to solve for")
    solutions = sympy.solve(system, unknowns, dict=True)
    if not solutions:
        return "no solution"
    return "; ".join(
        ", ".join(f"{name}: {format_number(value)}" for name, value in sorted(sol.items(), key=lambda kv: str(kv[0]))) for sol in solutions
    )


def format_number(value: sympy.Expr) -> str:
    """Integers as they are, terminating decimals as decimals, others as a fraction with its value."""
    if value.is_Integer:
        return str(int(value))
    if value.is_Rational:
        decimal = _terminating_decimal(value)
        return decimal if decimal is not None else f"{value} ≈ {float(value):.10g}"
    if value.is_number and value.is_real:
        return f"{float(value):.10g}"
    return str(value)


def _terminating_decimal(value: sympy.Rational) -> str | None:
    numerator, denominator = int(value.p), int(value.q)
    twos = fives = 0
    while denominator % 2 == 0:
        denominator, twos = denominator // 2, twos + 1
    while denominator % 5 == 0:
        denominator, fives = denominator // 5, fives + 1
    if denominator != 1:
        return None
    places = max(twos, fives)
    if places == 0:
        return str(numerator)
    digits = str(abs(numerator) * 10**places // int(value.q)).rjust(places + 1, "0")
    text = f"{'-' if numerator < 0 else ''}{digits[: len(digits) - places]}.{digits[len(digits) - places :]}"
    return text.rstrip("0").rstrip(".")


def _normalise(text: str) -> str:
    if not isinstance(text, str) or not text.strip():
        raise MathInputError("empty expression")
    if len(text) > MAX_LENGTH:
        raise MathInputError(f"expression longer than {MAX_LENGTH} characters")
    replacements = {"^": "**", "×": "*", "·": "*", "÷": "/", "−": "-", "²": "**2", "³": "**3", ",": ""}
    for old, new in replacements.items():
        text = text.replace(old, new)
    text = text.strip().rstrip("=?").strip()
    return _PERCENT.sub(r"(\1/100)", text)


def _split_equations(text: str) -> list[str]:
    separator = ";" if ";" in text else ("\n" if "\n" in text else None)
    if separator:
        return text.split(separator)
    if "," in text and text.count("=") > 1:
        return text.split(",")
    return [text]


def _convert(node: ast.AST, source: str, symbols: bool) -> sympy.Expr:
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
        return sympy.Rational(str(node.value)) if isinstance(node.value, float) else sympy.Integer(node.value)
    if isinstance(node, ast.BinOp) and type(node.op) in _BINARY:
        left, right = _convert(node.left, source, symbols), _convert(node.right, source, symbols)
        if isinstance(node.op, (ast.Div, ast.FloorDiv)) and right == 0:
            raise MathInputError(f"division by zero in {source!r}")
        if isinstance(node.op, ast.Pow) and right.is_number and abs(right) > 10_000:
            raise MathInputError(f"exponent too large in {source!r}")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
        return _UNARY[type(node.op)](_convert(node.operand, source, symbols))
    if isinstance(node, ast.Name):
        if node.id in _CONSTANTS:
            return _CONSTANTS[node.id]
        if symbols and len(node.id) == 1 and node.id.isalpha():
            return sympy.Symbol(node.id)
        raise MathInputError(f"unknown name {node.id!r} in {source!r}")
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _FUNCTIONS and not node.keywords:
        return _FUNCTIONS[node.func.id](*(_convert(arg, source, symbols) for arg in node.args))
    raise MathInputError(f"not a mathematical expression: {source!r}")


def _names(value: sympy.Expr) -> str:
    return ", ".join(sorted(str(s) for s in value.free_symbols))

"""The `units` agent of 02_custom_agent.ipynb: one conversion tool and its spec, importable by path
(`agentgraph finetune --agent notebooks/units_agent.py:UNITS --examples notebooks/units_examples.jsonl`)."""

from langchain_core.tools import ToolException, tool

UNITS_SI = {  # unit -> (quantity, factor to the SI unit)
    "m": ("length", 1.0),
    "km": ("length", 1000.0),
    "cm": ("length", 0.01),
    "mm": ("length", 0.001),
    "mi": ("length", 1609.344),
    "ft": ("length", 0.3048),
    "in": ("length", 0.0254),
    "yd": ("length", 0.9144),
    "kg": ("mass", 1.0),
    "g": ("mass", 0.001),
    "lb": ("mass", 0.45359237),
    "oz": ("mass", 0.028349523125),
    "l": ("volume", 1.0),
    "ml": ("volume", 0.001),
    "gal": ("volume", 3.785411784),
}
ALIASES = {
    "mile": "mi",
    "miles": "mi",
    "kilometre": "km",
    "kilometres": "km",
    "kilometer": "km",
    "kilometers": "km",
    "metre": "m",
    "metres": "m",
    "meter": "m",
    "meters": "m",
    "foot": "ft",
    "feet": "ft",
    "inch": "in",
    "inches": "in",
    "pound": "lb",
    "pounds": "lb",
    "lbs": "lb",
    "kilogram": "kg",
    "kilograms": "kg",
    "gram": "g",
    "grams": "g",
    "litre": "l",
    "litres": "l",
    "liter": "l",
    "liters": "l",
    "gallon": "gal",
    "gallons": "gal",
    "celsius": "c",
    "°c": "c",
    "fahrenheit": "f",
    "°f": "f",
}


def _unit(name: str) -> str:
    key = name.strip().lower()
    key = ALIASES.get(key, key)
    if key not in UNITS_SI and key not in ("c", "f"):
        raise ToolException(f"convert_units: unknown unit {name!r}")
    return key


@tool
def convert_units(value: float, from_unit: str, to_unit: str) -> str:
    """Convert a quantity between units: m, km, cm, mm, mi, ft, in, yd, kg, g, lb, oz, l, ml, gal, C, F."""
    source, target = _unit(from_unit), _unit(to_unit)
    if {source, target} <= {"c", "f"}:
        result = value * 9 / 5 + 32 if (source, target) == ("c", "f") else (value - 32) * 5 / 9 if (source, target) == ("f", "c") else value
    elif source in UNITS_SI and target in UNITS_SI and UNITS_SI[source][0] == UNITS_SI[target][0]:
        result = value * UNITS_SI[source][1] / UNITS_SI[target][1]
    else:
        raise ToolException(f"convert_units: cannot convert {from_unit} to {to_unit}")
    return f"{value:g} {from_unit} = {result:.6g} {to_unit}"


convert_units.handle_tool_error = True  # a refused conversion goes back to the model as an error message


from agentgraph import AgentSpec  # noqa: E402

UNITS = AgentSpec(
    name="units",
    description="Converts quantities between units of length, mass, volume and temperature.",
    system_prompt="You are the units agent. Use convert_units for every conversion, then state the result.",
    tools=(convert_units,),
)

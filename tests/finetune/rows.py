"""Rows shared by the fine-tuning tests."""

from __future__ import annotations

import json

MATH_ROW = {  # a math row whose first call is refused and then corrected
    "tools": json.dumps(
        [{"type": "function", "function": {"name": "calculator", "parameters": {"properties": {"expression": {"type": "string"}}}}}]
    ),
    "messages": [
        {"role": "system", "content": "You are the math agent."},
        {"role": "user", "content": "What is 123 times 45?"},
        {"role": "tool_call", "content": json.dumps({"name": "calculator", "arguments": {"expression": "$123*45"}})},
        {"role": "tool_response", "content": "calculator: not a mathematical expression"},
        {"role": "tool_call", "content": json.dumps({"name": "calculator", "arguments": {"expression": "123*45"}})},
        {"role": "tool_response", "content": "5535"},
        {"role": "assistant", "content": "The answer is 5535."},
    ],
}

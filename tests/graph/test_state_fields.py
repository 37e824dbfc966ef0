"""The state's fields are declared once, in `GraphState`; starting a question clears all but the thread's."""

from __future__ import annotations

from langgraph.types import Overwrite

from agentgraph.state import QUESTION_FIELDS, THREAD_FIELDS, GraphState, question_start


def test_every_field_is_either_the_threads_or_the_questions() -> None:
    assert set(QUESTION_FIELDS) | THREAD_FIELDS == set(GraphState.__annotations__)
    assert not set(QUESTION_FIELDS) & THREAD_FIELDS


def test_a_question_starts_with_its_fields_emptied() -> None:
    update = question_start("run-1")
    assert set(update) == set(QUESTION_FIELDS)
    assert update["run_id"] == "run-1" and update["answer"] == "" and update["handoffs"] == 0
    assert isinstance(update["plan"], Overwrite) and update["plan"].value == []
    assert isinstance(update["results"], Overwrite) and update["results"].value == {}

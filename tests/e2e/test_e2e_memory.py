"""End to end: what a user asked to be remembered reaches a later conversation of theirs, through
`agentgraph run --json` on the real server and the real database."""

from __future__ import annotations

import pytest
from e2e_support import Cli, final_values

from agentgraph.memory import remember
from agentgraph.runtime import open_store
from agentgraph.supervisor import REMEMBERED_PREFIX

pytestmark = pytest.mark.server

TEAM = "My team is called Blue Heron."


def test_a_remembered_fact_is_given_to_the_writing_agent_of_a_later_thread(cli: Cli):
    with open_store(cli.settings) as store:
        remember(store, cli.settings.graph.default_user, TEAM)  # the CLI's threads belong to the default user

    summary = cli.run_json("run", "Write a two-line note to my team about the launch.", "--thread", "e2e-memory")

    assert "writing" in summary["agents"], summary
    values = final_values(cli.settings, "e2e-memory")
    writing = next(s for s in values["plan"] if s["agent"] == "writing")
    assert f"{REMEMBERED_PREFIX}{TEAM}" in writing.get("given", []), writing
    assert "Blue Heron" in summary["answer"], summary["answer"]
    assert summary["errors"] == [], summary

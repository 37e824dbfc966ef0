"""A live terminal view of a graph run: one panel per agent with its tokens, tool calls and results."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from langchain_core.messages import AIMessage, AIMessageChunk, ToolMessage
from rich.console import Console, Group
from rich.live import Live
from rich.panel import Panel
from rich.text import Text

_SHOWN = 300
"""Characters of a tool result or argument list shown."""


def _short(text: str) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def call_text(name: str, args: Any) -> str:
    """A tool call as one readable line: `name(key=value, ...)`."""
    if isinstance(args, dict):
        return f"{name}({', '.join(f'{k}={json.dumps(v, ensure_ascii=False)}' for k, v in args.items())})"
    return f"{name}({args})"


@dataclass
class _Pane:
    title: str
    lines: list[Text] = field(default_factory=list)
    streaming: AIMessageChunk | None = None
    status: str = "running"

    def add_turn(self, message: AIMessage) -> None:
        if message.text.strip():
            self.lines.append(Text(message.text.strip()))
        for call in message.tool_calls:
            self.lines.append(Text(f"-> {call_text(call['name'], call['args'])}", style="bold"))

    def add_chunk(self, chunk: AIMessageChunk) -> None:
        self.streaming = chunk if self.streaming is None else self.streaming + chunk

    def end_turn(self) -> None:
        if self.streaming is not None:
            self.add_turn(self.streaming)
            self.streaming = None

    def render(self) -> Panel:
        body = list(self.lines)
        if self.streaming is not None and self.streaming.text:
            body.append(Text(self.streaming.text, style="dim"))
        style = {"running": "cyan", "done": "green", "failed": "red", "waiting": "yellow"}[self.status]
        title = Text.assemble(self.title, (f" {self.status}", style))
        return Panel(Group(*body) if body else Text("..."), title=title, border_style=style, title_align="left")


class LiveView:
    """Consumes `graph.stream(..., stream_mode=["updates", "messages"], subgraphs=True)` items."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.panes: dict[str, _Pane] = {}
        self.subtasks: dict[str, list[dict]] = {}
        self.answer: str | None = None
        self.interrupts: dict[str, dict] = {}
        self._live = Live(console=console, refresh_per_second=8, transient=False, get_renderable=self._render)

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        for pane in self.panes.values():
            pane.end_turn()
        self._live.refresh()
        self._live.__exit__(*exc)  # type: ignore[arg-type]
        if not self.console.is_terminal:
            self.console.line()

    def _render(self) -> Group:
        parts: list[Any] = [pane.render() for pane in self.panes.values()]
        if self.answer is not None:
            parts.append(Panel(Text(self.answer), title="answer", border_style="bold green", title_align="left"))
        return Group(*parts)

    def _pane(self, namespace: tuple[str, ...], node: str) -> _Pane:
        key = namespace[0] if namespace else node
        if key not in self.panes:
            agent = key.split(":")[0]
            title = agent
            queue = self.subtasks.get(agent)
            if namespace and queue:
                subtask = queue.pop(0)
                title = f"{agent} ({subtask['id']}): {_short(subtask['task'])}"
            self.panes[key] = _Pane(title)
        return self.panes[key]

    def handle(self, namespace: tuple[str, ...], mode: str, data: Any) -> None:
        """Show one streamed item."""
        if mode == "messages":
            message, metadata = data
            if namespace:  # the supervisor's own turns show as its plan (see updates)
                self._agent_message(self._pane(namespace, metadata.get("langgraph_node", "?")), message)
        elif mode == "updates":
            for node, update in data.items():
                if node == "__interrupt__":
                    self._interrupted(namespace, update)
                elif namespace:
                    self._agent_update(self._pane(namespace, node), node, update)
                elif isinstance(update, dict):
                    self._parent_update(node, update)
        self._live.refresh()

    @staticmethod
    def _agent_message(pane: _Pane, message: Any) -> None:
        if isinstance(message, AIMessageChunk):
            pane.add_chunk(message)
        elif isinstance(message, AIMessage):
            pane.end_turn()
            pane.add_turn(message)
        elif isinstance(message, ToolMessage):
            pane.end_turn()
            style = "red" if message.status == "error" else "magenta"
            pane.lines.append(Text(f"<- {message.name}: {_short(message.text)}", style=style))

    @staticmethod
    def _agent_update(pane: _Pane, node: str, update: Any) -> None:
        if node == "model":
            pane.end_turn()
        for subtask in (update or {}).get("plan") or ():
            if subtask["status"] in ("done", "failed"):
                pane.status = subtask["status"]

    def _interrupted(self, namespace: tuple[str, ...], interrupts: Any) -> None:
        for item in interrupts:
            value = item.value if isinstance(item.value, dict) else {"value": item.value}
            if item.id in self.interrupts:
                continue
            self.interrupts[item.id] = value
            pane = self._pane(namespace, value.get("agent", "?")) if namespace else self.panes.get(value.get("agent", ""))
            if pane is not None:
                pane.status = "waiting"
                pane.lines.append(Text(f"waiting for approval: {call_text(value.get('tool', '?'), value.get('args', {}))}", style="yellow"))

    def _parent_update(self, node: str, update: dict) -> None:
        if node == "supervisor":
            pane = self._pane((), node)
            plan = update.get("plan")
            plan = getattr(plan, "value", plan) or []
            for subtask in plan:
                self.subtasks.setdefault(subtask["agent"], []).append(subtask)
                pane.lines.append(Text(f"-> {subtask['agent']}: {_short(subtask['task'])}", style="bold"))
            errors = update.get("errors")
            for error in getattr(errors, "value", errors) or []:
                pane.lines.append(Text(error, style="red"))
            pane.status = "done" if plan else "failed"
        elif node == "finish":
            self.answer = update.get("answer", "")

"""A tiny OpenAI-compatible chat server for the Studio test: a fixed plan for "What is 6*7?"."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

_ids = itertools.count(1)


def reply_for(model: str, messages: list[dict]) -> dict:
    """The assistant message: the router hands to math, math calls the calculator then answers."""
    if model == "router":
        return _call("transfer_to_math", {"task": "What is 6*7?"})
    if model == "math" and messages[-1]["role"] != "tool":
        return _call("calculator", {"expression": "6*7"})
    return {"role": "assistant", "content": f"The answer is {messages[-1]['content']}."}


def _call(name: str, args: dict) -> dict:
    call = {"id": f"call_{next(_ids)}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, content_type: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        models = [{"id": name, "object": "model"} for name in ("base", "router", "math", "retrieval", "writing")]
        self._send(200, json.dumps({"object": "list", "data": models}).encode())

    def do_POST(self) -> None:
        request = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        message = reply_for(request["model"], request["messages"])
        finish = "tool_calls" if message.get("tool_calls") else "stop"
        head = {"id": f"chatcmpl-{next(_ids)}", "created": 0, "model": request["model"]}
        if not request.get("stream"):
            body = {**head, "object": "chat.completion", "choices": [{"index": 0, "message": message, "finish_reason": finish}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}
            self._send(200, json.dumps(body).encode())
            return
        delta = {**message, "tool_calls": [{"index": 0, **c} for c in message.get("tool_calls", [])]}
        chunks = [
            {**head, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": delta, "finish_reason": None}]},
            {**head, "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]},
        ]
        body = "".join(f"data: {json.dumps(c)}\n\n" for c in chunks) + "data: [DONE]\n\n"
        self._send(200, body.encode(), "text/event-stream")


@contextmanager
def fake_openai_server() -> Iterator[str]:
    """Serve on a free local port; yields the base URL (`http://127.0.0.1:PORT/v1`)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        server.shutdown()
        server.server_close()

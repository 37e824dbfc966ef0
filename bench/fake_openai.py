"""A tiny scripted OpenAI-compatible chat server for loopback benchmarks and fault tests.

It answers `/v1/chat/completions` (plain or streamed) instantly with a fixed script instead of running a model: the router
hands the question to the agents named by `--handoffs`, every other model answers with one line of
text (or, with `--tool-call`, first calls a tool). Faults can be switched on at start or at run time (`POST /control`): a delay before each reply,
HTTP errors for the first N requests, holding requests until released, or the process dying when a
given model is asked. `GET /stats` lists the requests it received.

    python bench/fake_openai.py --port 0 --handoffs math,writing
    # prints "listening on http://127.0.0.1:PORT/v1", then serves until killed
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

DEFAULT_MODELS = ("base", "router", "retrieval", "math", "writing")


class Script:
    """What the server answers and which faults it injects; changed at run time by `POST /control`."""

    def __init__(
        self, models: list[str], handoffs: list[str], router: str = "router", tool_calls: dict[str, tuple[str, str]] | None = None
    ) -> None:
        self.models = models
        self.handoffs = handoffs
        self.router = router
        self.tool_calls = tool_calls or {}
        """Agent model -> (tool, argument): its first turn calls the tool with the task as that argument."""
        self.delay_s = 0.0
        self.fail_next = 0
        self.fail_status = 500
        self.die_on: str | None = None
        self.hold = False
        self.released = threading.Event()
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.waiting = 0

    def control(self, changes: dict[str, Any]) -> None:
        with self.lock:
            for key in ("delay_s", "fail_next", "fail_status", "die_on", "models", "handoffs"):
                if key in changes:
                    setattr(self, key, changes[key])
            if "hold" in changes:
                self.hold = bool(changes["hold"])
                if self.hold:
                    self.released.clear()
                else:
                    self.released.set()

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": list(self.requests), "waiting": self.waiting}


def reply_for(script: Script, body: dict[str, Any]) -> dict[str, Any]:
    """The chat completion the script gives for one request body."""
    model = body.get("model", "")
    messages = body.get("messages", [])
    question = next((_text(m) for m in reversed(messages) if m.get("role") == "user"), "")
    offered = {t.get("function", {}).get("name") for t in body.get("tools") or []}
    message: dict[str, Any] = {"role": "assistant", "content": None}
    finish = "stop"
    if model == script.router:
        calls: list[dict[str, Any]] = []
        for agent in script.handoffs:
            name = f"transfer_to_{agent}"
            if name in offered:
                task = question if not calls else f"Write a short note about: {question}"
                calls.append(
                    {
                        "id": f"call_{uuid.uuid4().hex[:12]}",
                        "type": "function",
                        "function": {"name": name, "arguments": json.dumps({"task": task})},
                    }
                )
        message["tool_calls"] = calls
        message["content"] = "" if calls else "I cannot route this."
        finish = "tool_calls" if calls else "stop"
    elif model in script.tool_calls and script.tool_calls[model][0] in offered and messages[-1].get("role") != "tool":
        tool, argument = script.tool_calls[model]
        call = {
            "id": f"call_{uuid.uuid4().hex[:12]}",
            "type": "function",
            "function": {"name": tool, "arguments": json.dumps({argument: question})},
        }
        message["tool_calls"] = [call]
        message["content"] = ""
        finish = "tool_calls"
    else:
        facts = f" [{_text(messages[-1])[:80]}]" if messages and messages[-1].get("role") == "tool" else ""
        message["content"] = f"{model} answer: {' '.join(question.split())[:400]}{facts}"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:16]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish, "logprobs": None}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


def stream_events(reply: dict[str, Any], include_usage: bool) -> bytes:
    """`reply` as the server-sent events of a streamed chat completion (`"stream": true`)."""
    choice = reply["choices"][0]
    message = choice["message"]
    delta: dict[str, Any] = {"role": "assistant", "content": message.get("content") or ""}
    if message.get("tool_calls"):
        delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(message["tool_calls"])]
    head = {k: reply[k] for k in ("id", "created", "model")} | {"object": "chat.completion.chunk"}
    chunks = [
        {**head, "choices": [{"index": 0, "delta": delta, "finish_reason": None, "logprobs": None}]},
        {**head, "choices": [{"index": 0, "delta": {}, "finish_reason": choice["finish_reason"], "logprobs": None}]},
    ]
    if include_usage:
        chunks.append({**head, "choices": [], "usage": reply["usage"]})
    return b"".join(b"data: " + json.dumps(c).encode() + b"\n\n" for c in chunks) + b"data: [DONE]\n\n"


def _text(message: dict[str, Any]) -> str:
    content = message.get("content") or ""
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content)


def make_handler(script: Script) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # headers and body are separate writes: no 40 ms delayed-ACK stall

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
            pass

        def _send(self, status: int, payload: Any, content_type: str = "application/json") -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            return json.loads(self.rfile.read(length) or b"{}")

        def do_GET(self) -> None:
            if self.path.rstrip("/") == "/v1/models":
                data = [{"id": name, "object": "model", "owned_by": "fake"} for name in script.models]
                self._send(200, {"object": "list", "data": data})
            elif self.path == "/stats":
                self._send(200, script.stats())
            else:
                self._send(404, {"detail": "Not Found"})

        def do_POST(self) -> None:
            body = self._body()
            if self.path == "/control":
                script.control(body)
                self._send(200, {"ok": True})
                return
            if self.path.rstrip("/") != "/v1/chat/completions":
                self._send(404, {"detail": "Not Found"})
                return
            model = body.get("model", "")
            record = {"model": model, "retry": int(self.headers.get("x-stainless-retry-count") or 0), "status": 200}
            with script.lock:
                script.requests.append(record)
                die = script.die_on is not None and model == script.die_on
                failing = script.fail_next > 0
                if failing:
                    script.fail_next -= 1
                hold, delay, fail_status = script.hold, script.delay_s, script.fail_status
                served = model in script.models
            if die:
                os._exit(1)
            if hold:
                with script.lock:
                    script.waiting += 1
                script.released.wait()
                with script.lock:
                    script.waiting -= 1
            if delay:
                time.sleep(delay)
            if failing:
                record["status"] = fail_status
                self._send(fail_status, {"error": {"message": "injected server error", "type": "InternalServerError", "code": fail_status}})
            elif not served:
                record["status"] = 404
                error = {"message": f"The model `{model}` does not exist.", "type": "NotFoundError", "param": "model", "code": 404}
                self._send(404, {"error": error})
            elif body.get("stream"):
                include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
                self._send(200, stream_events(reply_for(script, body), include_usage), "text/event-stream")
            else:
                self._send(200, reply_for(script, body))

    return Handler


def serve(host: str, port: int, script: Script) -> ThreadingHTTPServer:
    """A started server (in a background thread); its port is `server.server_address[1]`."""
    server = ThreadingHTTPServer((host, port), make_handler(script))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0: any free port (printed on start)")
    parser.add_argument("--models", default=",".join(DEFAULT_MODELS), help="served model names, comma-separated")
    parser.add_argument("--handoffs", default="math,writing", help="agents the router hands every question to")
    parser.add_argument(
        "--tool-call",
        action="append",
        default=[],
        metavar="MODEL:TOOL:ARG",
        help="MODEL's first turn calls TOOL with the task as argument ARG (repeatable)",
    )
    parser.add_argument("--delay", type=float, default=0.0, help="seconds to wait before each chat reply")
    parser.add_argument("--fail-first", type=int, default=0, help="answer the first N chat requests with an error")
    parser.add_argument("--fail-status", type=int, default=500)
    parser.add_argument("--die-on", default=None, help="exit the process when this model is asked")
    parser.add_argument("--hold", action="store_true", help='hold chat requests until POST /control {"hold": false}')
    args = parser.parse_args(argv)
    tool_calls = {}
    for spec in args.tool_call:
        model, tool, argument = spec.split(":")
        tool_calls[model] = (tool, argument)
    script = Script([m for m in args.models.split(",") if m], [a for a in args.handoffs.split(",") if a], tool_calls=tool_calls)
    script.control(
        {"delay_s": args.delay, "fail_next": args.fail_first, "fail_status": args.fail_status, "die_on": args.die_on, "hold": args.hold}
    )
    server = serve(args.host, args.port, script)
    print(f"listening on http://{args.host}:{server.server_address[1]}/v1", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.shutdown()
        sys.exit(0)


if __name__ == "__main__":
    main()

"""Output tokens/s of the base model, of multi-LoRA traffic on the same vLLM server, and of the same
adapters behind `swift deploy --infer_backend transformers`, at concurrency 1, 4 and 8, in one run.

    .venv/bin/python bench/serving.py [--max-tokens 32] [--rounds 2]

Writes bench/results/serving.json and bench/results/serving.md.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openai import AsyncOpenAI

from agentgraph.serving.client import list_models
from agentgraph.serving.prepare import prepare_model
from agentgraph.serving.profile import get_profile
from agentgraph.serving.registry import AdapterRegistry
from agentgraph.serving.runtime import ensure_server
from agentgraph.serving.server import log_tail, stop_server
from agentgraph.settings import PROJECT_ROOT, Settings

RESULTS = PROJECT_ROOT / "bench" / "results"
CONCURRENCY = (1, 4, 8)
SWIFT_MAX_BATCH_SIZE = 1
PROMPTS = [
    "Write a sentence about the sea.",
    "What is 17% of 2400?",
    "Describe a bridge in one line.",
    "List three colours.",
    "Say something about coffee.",
    "When was the observatory founded?",
    "Write a short note to the team.",
    "Explain what a lighthouse does.",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def tokens_per_second(url: str, models: list[str], concurrency: int, rounds: int, max_tokens: int, fixed_length: bool) -> float:
    """Output tokens per second for `rounds` waves of `concurrency` requests spread over `models`."""
    client = AsyncOpenAI(base_url=url, api_key="EMPTY", timeout=600)
    model_cycle = itertools.cycle(models)
    extra = {"ignore_eos": True, "min_tokens": max_tokens} if fixed_length else {}

    async def one(index: int) -> int:
        reply = await client.chat.completions.create(
            model=next(model_cycle),
            messages=[{"role": "user", "content": PROMPTS[index % len(PROMPTS)]}],
            max_tokens=max_tokens,
            temperature=0.0,
            extra_body=extra,
        )
        return reply.usage.completion_tokens

    await one(0)  # warm-up: first request of a model/adapter pays one-time costs
    started = time.perf_counter()
    produced = 0
    for wave in range(rounds):
        produced += sum(await asyncio.gather(*(one(wave * concurrency + i) for i in range(concurrency))))
    elapsed = time.perf_counter() - started
    await client.close()
    return round(produced / elapsed, 2)


def series(url: str, models: list[str], rounds: int, max_tokens: int, fixed_length: bool, label: str) -> dict[str, float]:
    out = {}
    for concurrency in CONCURRENCY:
        out[str(concurrency)] = asyncio.run(tokens_per_second(url, models, concurrency, rounds, max_tokens, fixed_length))
        print(f"  {label:<18} concurrency {concurrency}: {out[str(concurrency)]:7.2f} tokens/s", flush=True)
    return out


def swift_deploy(model_path: Path, adapters: dict[str, Path], port: int, max_batch_size: int, log: Path) -> subprocess.Popen:
    profile = get_profile(Settings().model.profile)
    command = [
        sys.executable,
        "-m",
        "swift.cli.deploy",
        "--model",
        str(model_path),
        "--model_type",
        profile.swift_model_type,
        "--template",
        profile.swift_template,
        "--agent_template",
        profile.swift_agent_template,
        "--custom_register_path",
        str(PROJECT_ROOT / "finetune" / "swift_plugin.py"),
        "--infer_backend",
        "transformers",
        "--max_batch_size",
        str(max_batch_size),
        "--torch_dtype",
        "float32",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--served_model_name",
        "base",
        "--verbose",
        "false",
        "--log_interval",
        "-1",
        "--adapters",
        *(f"{name}={path}" for name, path in adapters.items()),
    ]
    env = {**os.environ, "VLLM_PLUGINS": "none"}
    with log.open("wb") as handle:
        return subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT, env=env, start_new_session=True)


def wait_models(url: str, process: subprocess.Popen, log: Path, timeout_s: float = 900) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"swift deploy exited with {process.returncode}:\n{log_tail(log)}")
        try:
            list_models(url, timeout_s=2)
            return
        except Exception:
            time.sleep(2)
    raise SystemExit(f"swift deploy not ready after {timeout_s} s:\n{log_tail(log)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()

    scratch = Path(tempfile.mkdtemp(prefix="agentgraph-bench-"))
    settings = Settings(server={"port": free_port(), "state_dir": scratch})
    profile = get_profile(settings.model.profile)
    model = prepare_model(settings, profile)
    adapters = {
        e.name: e.path for e in AdapterRegistry.load(settings.registry_path).validate(settings.server.max_lora_rank, model.base_model_hash)
    }
    if not adapters:
        raise SystemExit("no registered adapters: train them first (agentgraph finetune AGENT)")
    names = sorted(adapters)

    print(f"vLLM with {', '.join(names)}", flush=True)
    info = ensure_server(settings)
    try:
        base = series(info.url, ["base"], args.rounds, args.max_tokens, True, "base")
        multi = series(info.url, names, args.rounds, args.max_tokens, True, "multi-LoRA")
    finally:
        stop_server(settings)

    print("swift deploy --infer_backend transformers", flush=True)
    port = free_port()
    log = scratch / "swift-deploy.log"
    # Batches that mix adapters fail in ms-swift 4.6's transformers engine ("Length of `adapter_names` should
    # be the same as the number of inputs"), so it serves one request at a time.
    process = swift_deploy(model.path, adapters, port, SWIFT_MAX_BATCH_SIZE, log)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_models(url, process, log)
        swift = series(url, names, args.rounds, args.max_tokens, False, "swift transformers")
    finally:
        process.terminate()
        process.wait(timeout=60)

    result = {"tokens_per_s": {"base": base, "multi_lora": multi, "swift_transformers": swift}}
    ratios = {
        "multi_lora_over_base": {c: round(multi[c] / base[c], 3) for c in base},
        "multi_lora_over_swift_transformers": {c: round(multi[c] / swift[c], 3) for c in base},
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "serving.json").write_text(json.dumps({**result, "ratios": ratios}, indent=2) + "\n")
    (RESULTS / "serving.md").write_text(report(result["tokens_per_s"], ratios, args, names))
    print((RESULTS / "serving.md").read_text())


def report(tps: dict[str, dict[str, float]], ratios: dict[str, dict[str, float]], args: argparse.Namespace, names: list[str]) -> str:
    rows = "\n".join(
        f"| {c} | {tps['base'][c]} | {tps['multi_lora'][c]} | {tps['swift_transformers'][c]} | "
        f"{ratios['multi_lora_over_base'][c]} | {ratios['multi_lora_over_swift_transformers'][c]} |"
        for c in tps["base"]
    )
    return f"""# Serving throughput (output tokens/s)

Measured in one run by `bench/serving.py` on {platform.machine()} with {os.cpu_count()} cores, no GPU;
{args.rounds} waves of `concurrency` chat requests per level, {args.max_tokens} output tokens each
(vLLM: fixed length with `ignore_eos`; swift deploy: up to that many, counted from `usage`),
greedy, after one warm-up request. Multi-LoRA and swift traffic cycle over the adapters {", ".join(names)}.
swift deploy runs with `--infer_backend transformers --max_batch_size {SWIFT_MAX_BATCH_SIZE}`: with larger batches
ms-swift 4.6 rejects batches that mix adapters ("Length of `adapter_names` should be the same as the
number of inputs").

| concurrency | base | multi-LoRA | swift transformers | multi-LoRA / base | multi-LoRA / swift |
|---|---|---|---|---|---|
{rows}

Goals: multi-LoRA at least 0.7x of base; at least 3x swift transformers at concurrency 8.
"""


if __name__ == "__main__":
    main()

"""Start-up: how long `agentgraph run` takes before it shows anything, and around the model's own time.

Measured, in one run:
  (a) `import agentgraph.graph` in a fresh interpreter (median wall time of several), with the
      modules that take longest (`python -X importtime`, cumulative);
  (b) `agentgraph run QUESTION` on a pseudo-terminal (so the live view renders as for a person),
      against `bench/fake_openai.py` answering each request after a fixed delay: the time from the
      command's start to the first line of its live view, and its wall time against the model's
      own time (requests the server received x the delay). The database is made (migrated) by one
      run first, which is not counted.

    .venv/bin/python bench/startup.py            # writes bench/results/startup.json and .md
"""

from __future__ import annotations

import argparse
import json
import os
import pty
import re
import resource
import select
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

from workers import start_fake_server, stop

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
PYTHON = sys.executable
AGENTGRAPH = str(Path(PYTHON).with_name("agentgraph"))
QUESTION = "17 * 24"
MODEL_DELAY_S = 0.25
FIRST_LINE_GOAL_S = 1.0
ABOVE_MODEL_GOAL_S = 1.0
_ANSI = re.compile(rb"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def children_cpu_s() -> float:
    """CPU time (user + system) of this process's finished children so far."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def import_times(runs: int) -> dict[str, Any]:
    """Median wall and CPU time of `import agentgraph.graph` in a fresh interpreter, and the
    packages whose first import takes longest."""
    walls, cpus = [], []
    for _ in range(runs):
        start, cpu = time.perf_counter(), children_cpu_s()
        subprocess.run([PYTHON, "-c", "import agentgraph.graph"], check=True, cwd=ROOT)
        walls.append(time.perf_counter() - start)
        cpus.append(children_cpu_s() - cpu)
    bare = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([PYTHON, "-c", "pass"], check=True, cwd=ROOT)
        bare.append(time.perf_counter() - start)
    trace = subprocess.run(
        [PYTHON, "-X", "importtime", "-c", "import agentgraph.graph"], check=True, cwd=ROOT, capture_output=True, text=True
    ).stderr
    return {
        "import_agentgraph_graph_s": round(statistics.median(walls), 3),
        "import_agentgraph_graph_cpu_s": round(statistics.median(cpus), 3),
        "bare_interpreter_s": round(statistics.median(bare), 3),
        "slowest_imports": slowest_imports(trace, 15),
    }


def slowest_imports(trace: str, count: int) -> list[dict[str, Any]]:
    """The packages of an `-X importtime` trace whose first import (the shallowest one, with what it
    imported in turn) takes longest."""
    first: dict[str, dict[str, Any]] = {}
    for line in trace.splitlines():
        match = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if match:
            module, depth = match.group(4), len(match.group(3)) // 2
            package = module.split(".")[0] if not module.startswith("agentgraph.") else module
            entry = {"module": module, "cumulative_ms": round(int(match.group(2)) / 1000, 1), "depth": depth}
            if package not in first or depth <= first[package]["depth"]:
                first[package] = entry
    return sorted(first.values(), key=lambda r: -r["cumulative_ms"])[:count]


def run_on_pty(args: list[str], env: dict[str, str], timeout_s: float = 120.0) -> tuple[float, float, float, str]:
    """Run `args` with a pseudo-terminal as stdout: seconds to its first visible output, to its exit,
    its CPU seconds, and what it printed (escape sequences removed)."""
    master, slave = pty.openpty()
    start = time.perf_counter()
    cpu = children_cpu_s()
    proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env, cwd=ROOT)
    os.close(slave)
    first: float | None = None
    output = b""
    deadline = start + timeout_s
    while time.perf_counter() < deadline:
        ready, _, _ = select.select([master], [], [], 0.05)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if first is None and _ANSI.sub(b"", output).strip():
                first = time.perf_counter() - start
        elif proc.poll() is not None:
            break
    proc.wait(timeout=max(1.0, deadline - time.perf_counter()))
    total = time.perf_counter() - start
    os.close(master)
    text = _ANSI.sub(b"", output).decode(errors="replace")
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({proc.returncode}):\n{text[-2000:]}")
    return (first if first is not None else total), total, children_cpu_s() - cpu, text


def requests_served(base_url: str) -> int:
    with urllib.request.urlopen(base_url.removesuffix("/v1") + "/stats") as reply:
        return len(json.load(reply)["requests"])


def cli_runs(runs: int) -> dict[str, Any]:
    """`agentgraph run` on the fake model server: time to first line, wall time, model time."""
    with tempfile.TemporaryDirectory() as tmp:
        proc, base_url = start_fake_server(
            Path(tmp), "--handoffs", "math,writing", "--tool-call", "math:calculator:expression", "--delay", str(MODEL_DELAY_S)
        )
        try:
            env = {
                **os.environ,
                "AGENTGRAPH_DATABASE_URL": f"sqlite:///{Path(tmp) / 'agentgraph.db'}",
                "AGENTGRAPH_SERVER__URLS": json.dumps([base_url]),
                "AGENTGRAPH_CONFIG": str(Path(tmp) / "none.toml"),
                "TERM": "xterm",
                "COLUMNS": "100",
            }
            run_on_pty([AGENTGRAPH, "run", QUESTION], env)  # makes the database; not counted
            samples = []
            for _ in range(runs):
                before = requests_served(base_url)
                first, total, cpu, text = run_on_pty([AGENTGRAPH, "run", QUESTION], env)
                model_s = (requests_served(base_url) - before) * MODEL_DELAY_S
                samples.append({"first_line_s": first, "wall_s": total, "cpu_s": cpu, "model_s": model_s, "above_model_s": total - model_s})
        finally:
            stop(proc, 5.0)
    return {
        "runs": runs,
        "model_delay_s": MODEL_DELAY_S,
        **{key: round(statistics.median(s[key] for s in samples), 3) for key in samples[0]},
        "first_lines": [line for line in text.splitlines() if line.strip()][:3],
    }


def write_markdown(result: dict[str, Any], path: Path) -> None:
    imports, cli = result["imports"], result["cli"]
    slow = "\n".join(f"| `{r['module']}` | {r['cumulative_ms']} |" for r in imports["slowest_imports"])
    first_ok = cli["first_line_s"] <= FIRST_LINE_GOAL_S
    above_ok = cli["above_model_s"] <= ABOVE_MODEL_GOAL_S
    path.write_text(
        f"""# Start-up of `agentgraph run`

Produced by `bench/startup.py` (figures in `startup.json`). `agentgraph run "{QUESTION}"` runs on a
pseudo-terminal (the live view renders as for a person) against `bench/fake_openai.py`, which answers
each request after {cli["model_delay_s"]} s (the router, math twice, writing: the model's own time is the
requests it received x that delay). Medians of {cli["runs"]} runs, after one run that made the database.

| measure | value | goal |
| --- | --- | --- |
| command start to the first line of the live view | {cli["first_line_s"]} s | <= {FIRST_LINE_GOAL_S} s: {"met" if first_ok else "MISSED"} |
| wall time of the command | {cli["wall_s"]} s | |
| CPU time of the command | {cli["cpu_s"]} s | |
| the model's own time | {cli["model_s"]} s | |
| wall time above the model's | {cli["above_model_s"]} s | <= {ABOVE_MODEL_GOAL_S} s: {"met" if above_ok else "MISSED"} |
| `import agentgraph.graph`, fresh interpreter: wall / CPU | {imports["import_agentgraph_graph_s"]} s / {imports["import_agentgraph_graph_cpu_s"]} s | |
| a bare interpreter (`python -c pass`) | {imports["bare_interpreter_s"]} s | |

What `import agentgraph.graph` spends its time on (`python -X importtime`, one run): each package's
first import with everything it imports in turn (so a package's figure includes those it pulls in):

| module (first imported) | ms |
| --- | --- |
{slow}

Machine: {os.cpu_count()} cores shared with other work (load average {result["load"][0]:.1f} at the start,
{result["load"][1]:.1f} at the end); start-up times move with the load and the page cache.
"""
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    load_start = os.getloadavg()[0]
    result: dict[str, Any] = {"imports": import_times(args.runs), "cli": cli_runs(args.runs)}
    result["load"] = [load_start, os.getloadavg()[0]]
    print(json.dumps(result, indent=2))
    if not args.no_write:
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / "startup.json").write_text(json.dumps(result, indent=2) + "\n")
        write_markdown(result, RESULTS / "startup.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())

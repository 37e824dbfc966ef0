"""A TCP proxy on loopback that delays every chunk of data, in each direction, by a fixed time.

It stands for a network between a client and its database: each chunk read from one side is written
to the other side `delay` after it arrived (chunks keep their order; a burst is not serialized behind
the delay, as on a real link). It runs its own asyncio loop on a `select()` selector, whose timeouts
have microsecond resolution (epoll rounds them up to whole milliseconds, which would turn 0.5 ms
into 1 ms).

    python bench/netdelay.py --target 127.0.0.1:5432 --delay-ms 0.5
    # prints "listening on 127.0.0.1:PORT", then proxies until killed

`DelayProxy` starts it in a child process (so its CPU time is not the measured process's).
"""

from __future__ import annotations

import argparse
import asyncio
import selectors
import subprocess
import sys
import time
from collections import deque
from pathlib import Path
from types import TracebackType

CHUNK = 65536


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, delay_s: float) -> None:
    """Copy `reader` to `writer`, each chunk written `delay_s` after it was read."""
    loop = asyncio.get_running_loop()
    queue: deque[tuple[float, bytes]] = deque()
    ready = asyncio.Event()
    closed = False

    async def send() -> None:
        while True:
            while not queue:
                if closed:
                    return
                ready.clear()
                await ready.wait()
            due, data = queue.popleft()
            wait = due - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            writer.write(data)
            await writer.drain()

    sender = asyncio.create_task(send())
    try:
        while data := await reader.read(CHUNK):
            queue.append((loop.time() + delay_s, data))
            ready.set()
    except ConnectionError:
        pass
    finally:
        closed = True
        ready.set()
        try:
            await sender
        except ConnectionError:
            pass
        writer.close()


async def serve(listen_port: int, target_host: str, target_port: int, delay_s: float) -> None:
    """Proxy connections on 127.0.0.1:`listen_port` (0: any) to the target, until cancelled."""

    async def handle(client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter) -> None:
        try:
            server_reader, server_writer = await asyncio.open_connection(target_host, target_port)
        except OSError:
            client_writer.close()
            return
        await asyncio.gather(
            _pipe(client_reader, server_writer, delay_s), _pipe(server_reader, client_writer, delay_s), return_exceptions=True
        )

    server = await asyncio.start_server(handle, "127.0.0.1", listen_port)
    print(f"listening on 127.0.0.1:{server.sockets[0].getsockname()[1]}", flush=True)
    async with server:
        await server.serve_forever()


class DelayProxy:
    """The proxy in a child process, for a `with` block: `port` is where it listens."""

    def __init__(self, target: str, delay_ms: float) -> None:
        self.target = target
        self.delay_ms = delay_ms
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> DelayProxy:
        self._proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--target", self.target, "--delay-ms", str(self.delay_ms)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            self._proc.kill()
            raise RuntimeError(f"the delay proxy did not start: {line!r}")
        self.port = int(line.rsplit(":", 1)[1])
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()


def measured_rtt_ms(connect: str, rounds: int = 200) -> float:
    """Median round trip of `SELECT 1` on PostgreSQL at `connect` (a libpq URL), in ms."""
    import statistics

    import psycopg

    with psycopg.connect(connect, autocommit=True) as conn:
        for _ in range(10):
            conn.execute("SELECT 1")
        samples = []
        for _ in range(rounds):
            start = time.perf_counter()
            conn.execute("SELECT 1").fetchone()
            samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--target", default="127.0.0.1:5432", help="HOST:PORT to forward to")
    parser.add_argument("--port", type=int, default=0, help="port to listen on (0: any free one, printed)")
    parser.add_argument("--delay-ms", type=float, required=True, help="delay of each direction")
    args = parser.parse_args(argv)
    host, port = args.target.rsplit(":", 1)
    loop = asyncio.SelectorEventLoop(selectors.SelectSelector())
    try:
        loop.run_until_complete(serve(args.port, host, int(port), args.delay_ms / 1000))
    except KeyboardInterrupt:
        pass
    finally:
        loop.close()


if __name__ == "__main__":
    main()

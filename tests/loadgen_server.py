"""A small local HTTP server whose behaviour the load-engine tests know exactly.

It runs in its own process (a server thread in the test process would share the GIL with the
engine and slow both). It answers any POST after ``delay_s`` (a known service time, awaited so
concurrent requests overlap), can stall every answer until a given instant, and can answer
scripted statuses first (a throttle, a 503) before the default 200. It notes when each request
arrived and when it was answered (``time.monotonic()``, which every process shares) and hands
those notes back when stopped.
"""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Behaviour:
    delay_s: float = 0.0
    stall_until: float = 0.0  # a time.monotonic() instant; answers wait until then
    script: deque[tuple[int, str]] = field(default_factory=deque)  # (status, error code) first
    arrivals: list[float] = field(default_factory=list)
    answered: list[float] = field(default_factory=list)


class LocalServer:
    """Serves ``behaviour`` on 127.0.0.1:<free port> from a child process; ``stop`` ends it and
    fills in ``behaviour.arrivals`` and ``behaviour.answered``."""

    def __init__(self, behaviour: Behaviour | None = None) -> None:
        self.behaviour = behaviour or Behaviour()
        self.url = ""
        self._process: subprocess.Popen[str] | None = None
        self._notes = Path(tempfile.mkstemp(prefix="local-server-", suffix=".json")[1])

    def start(self) -> str:
        config = json.dumps(
            {
                "delay_s": self.behaviour.delay_s,
                "stall_until": self.behaviour.stall_until,
                "script": list(self.behaviour.script),
            }
        )
        self._process = subprocess.Popen(
            [sys.executable, "-m", "tests.loadgen_server", config, str(self._notes)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self._process.stdout is not None
        self.url = self._process.stdout.readline().strip()
        if not self.url.startswith("http://"):
            self.stop()
            raise RuntimeError("the local server did not start")
        return self.url

    def stop(self) -> None:
        if self._process is None:
            return
        self._process.send_signal(signal.SIGTERM)
        self._process.wait(30)
        self._process = None
        text = self._notes.read_text()
        self._notes.unlink()
        if text:
            notes = json.loads(text)
            self.behaviour.arrivals, self.behaviour.answered = notes["arrivals"], notes["answered"]


class _Server:
    def __init__(self, behaviour: Behaviour) -> None:
        self.behaviour = behaviour

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                body = await reader.readexactly(length)
                writer.write(await self._answer(body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def _answer(self, body: bytes) -> bytes:
        behaviour = self.behaviour
        behaviour.arrivals.append(time.monotonic())
        status, code = behaviour.script.popleft() if behaviour.script else (200, "")
        if behaviour.delay_s:
            await asyncio.sleep(behaviour.delay_s)
        wait = behaviour.stall_until - time.monotonic()
        if wait > 0:
            await asyncio.sleep(wait)
        if status == 200:
            payload = body
            headers = "Content-Type: application/json\r\nx-Amzn-Invoked-Production-Variant: v1\r\n"
        else:
            payload = json.dumps({"__type": code, "message": f"scripted {code}"}).encode()
            headers = f"Content-Type: application/json\r\nx-amzn-ErrorType: {code}:\r\n"
        behaviour.answered.append(time.monotonic())
        reason = "OK" if status == 200 else "Error"
        return (
            f"HTTP/1.1 {status} {reason}\r\n{headers}Content-Length: {len(payload)}\r\n\r\n"
        ).encode() + payload


async def _main(behaviour: Behaviour, notes: Path) -> None:
    server = _Server(behaviour)
    listener = await asyncio.start_server(server._serve, "127.0.0.1", 0, backlog=4096)
    port = listener.sockets[0].getsockname()[1]
    print(f"http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    notes.write_text(json.dumps({"arrivals": behaviour.arrivals, "answered": behaviour.answered}))


if __name__ == "__main__":
    settings = json.loads(sys.argv[1])
    given = Behaviour(
        delay_s=settings["delay_s"],
        stall_until=settings["stall_until"],
        script=deque(tuple(item) for item in settings["script"]),
    )
    asyncio.run(_main(given, Path(sys.argv[2])))

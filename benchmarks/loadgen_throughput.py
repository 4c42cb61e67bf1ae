"""How fast the load engine drives an endpoint, against a boto3 thread pool and a raw socket.

In one run against a trivial local endpoint (a uvloop + httptools server that answers every
POST with a small JSON body, pinned to core 0), each client pinned to core 1:

- the engine's maximum signed requests/s on one core (closed loop, many clients);
- a boto3 thread pool calling ``invoke_endpoint`` (the usual way people script this), at its
  best thread count, and the ratio engine / boto3;
- the engine's added latency per request at low load: one client, median round trip, minus
  the median of a raw blocking socket replaying one pre-signed request.

    uv run python benchmarks/loadgen_throughput.py [--seconds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

SERVER_CORE = 0
CLIENT_CORE = 1
BODY = b'{"instances": [[1.0, 2.0, 3.0]]}'
ANSWER = b'{"predictions": [0.5]}'


# --- the trivial endpoint ----------------------------------------------------------------------


def serve(port_file: Path) -> None:
    import httptools
    import uvloop

    response = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
        b"x-Amzn-Invoked-Production-Variant: AllTraffic\r\n"
        + f"Content-Length: {len(ANSWER)}\r\n\r\n".encode()
        + ANSWER
    )

    class Endpoint(asyncio.Protocol):
        def connection_made(self, transport: asyncio.BaseTransport) -> None:
            self.transport = transport
            self.parser = httptools.HttpRequestParser(self)

        def data_received(self, data: bytes) -> None:
            self.parser.feed_data(data)

        def on_message_complete(self) -> None:
            self.transport.write(response)  # type: ignore[attr-defined]

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Endpoint, "127.0.0.1", 0, backlog=4096)
        port_file.write_text(str(server.sockets[0].getsockname()[1]))
        await asyncio.Future()

    uvloop.run(main())


# --- the clients (each run in a child process pinned to the client core) -------------------------


def engine(url: str, clients: int, seconds: float) -> dict[str, float]:
    from endpointlab.loadgen.client import Invocation, RuntimeClient, Target
    from endpointlab.loadgen.retries import RetrySettings
    from endpointlab.loadgen.runner import Plan, run_blocking
    from endpointlab.loadgen.shapes import ClosedLoop
    from endpointlab.loadgen.signing import Credentials
    from endpointlab.results import RecordWriter, summarize

    target = Target(url, "us-east-1", Credentials("test", "test"))
    client = RuntimeClient(target, "bench", RetrySettings())
    invocation = Invocation.from_args({"Body": BODY.decode(), "ContentType": "application/json"})
    with tempfile.TemporaryDirectory() as directory:
        writer = RecordWriter(Path(directory) / "records.parquet")
        run_blocking(client, Plan(ClosedLoop(clients, seconds), [invocation]), writer)
        records = writer.close()
    summary = summarize(records)
    ok = [r for r in records if r.ok]
    return {
        "rate": summary.successes / seconds,
        "errors": summary.requests - summary.successes,
        "p50_ms": statistics.median(r.service_ms for r in ok),
    }


def boto3_pool(url: str, threads: int, seconds: float) -> dict[str, float]:
    import boto3
    from botocore.config import Config

    runtime = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1"
    ).client(
        "sagemaker-runtime",
        endpoint_url=url,
        config=Config(max_pool_connections=threads, retries={"total_max_attempts": 1}),
    )
    runtime.invoke_endpoint(EndpointName="bench", Body=BODY, ContentType="application/json")
    stop = time.monotonic() + seconds
    counts = [0] * threads

    def work(index: int) -> None:
        while time.monotonic() < stop:
            runtime.invoke_endpoint(EndpointName="bench", Body=BODY, ContentType="application/json")
            counts[index] += 1

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(work, range(threads)))
    return {"rate": sum(counts) / seconds}


def raw_socket(url: str, requests: int, _seconds: float) -> dict[str, float]:
    from endpointlab.loadgen.client import Invocation, RuntimeClient, Target
    from endpointlab.loadgen.retries import RetrySettings
    from endpointlab.loadgen.signing import Credentials

    target = Target(url, "us-east-1", Credentials("test", "test"))
    invocation = Invocation.from_args({"Body": BODY.decode(), "ContentType": "application/json"})
    wire = RuntimeClient(target, "bench", RetrySettings()).serialise(invocation)
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    times = []
    for _ in range(requests):
        started = time.perf_counter()
        sock.sendall(wire)
        received = b""
        while not received.endswith(ANSWER):
            received += sock.recv(65536)
        times.append(time.perf_counter() - started)
    sock.close()
    return {"p50_ms": statistics.median(times) * 1e3}


def child(kind: str, url: str, size: int, seconds: float) -> dict[str, float]:
    """Run one client measurement in a fresh process pinned to the client core."""
    code = (
        "import json, os, sys; sys.path.insert(0, 'benchmarks'); "
        f"os.sched_setaffinity(0, {{{CLIENT_CORE}}}); "
        "import loadgen_throughput as b; "
        f"print(json.dumps(b.{kind}({url!r}, {size}, {seconds})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True, timeout=600
    )
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        port_file = Path(directory) / "port"
        server = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import os, sys; from pathlib import Path; sys.path.insert(0, 'benchmarks'); "
                f"os.sched_setaffinity(0, {{{SERVER_CORE}}}); "
                f"import loadgen_throughput as b; b.serve(Path({str(port_file)!r}))",
            ]
        )
        try:
            while not port_file.exists() or not port_file.read_text():
                time.sleep(0.05)  # waiting for the server's port, not simulating work
            url = f"http://127.0.0.1:{port_file.read_text()}"
            report(url, args.seconds)
        finally:
            server.terminate()
            server.wait(30)


def report(url: str, seconds: float) -> None:
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    engine_runs = {n: child("engine", url, n, seconds) for n in (64, 256)}
    for n, result in engine_runs.items():
        print(
            f"engine, {n:>4} clients: {result['rate']:9.0f} signed req/s "
            f"({result['errors']:.0f} errors)"
        )
    boto_runs = {n: child("boto3_pool", url, n, seconds) for n in (1, 8, 32)}
    for n, result in boto_runs.items():
        print(f"boto3 pool, {n:>3} threads: {result['rate']:7.0f} calls/s")
    best_engine = max(r["rate"] for r in engine_runs.values())
    best_boto = max(r["rate"] for r in boto_runs.values())
    print(f"engine / boto3 on one core: {best_engine / best_boto:.1f}x")
    single = child("engine", url, 1, seconds)
    raw = child("raw_socket", url, 5000, seconds)
    added = single["p50_ms"] - raw["p50_ms"]
    print(
        f"low load, one client: engine p50 {single['p50_ms'] * 1e3:.0f} us, raw socket p50 "
        f"{raw['p50_ms'] * 1e3:.0f} us, added {added * 1e3:.0f} us per request"
    )
    print(f"load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()

"""What the container costs over calling the handler in-process, measured in one run on rtb-ctr.

Builds the rtb-ctr example, then in alternating blocks times ``handler.invoke`` in-process (the
floor, on core 0), the same request through ``POST /invocations`` of a one-worker container on
core 0, and a canned-reply server on core 0 (what http.client and loopback TCP cost alone), with a
keep-alive http.client on core 1. Prints p50/p99, differences, ratios, the cold start (spawn to
first 200 /ping) and worker memory (RSS/PSS/USS).
Run: ``uv run python benchmarks/container_overhead.py``.
"""

from __future__ import annotations

import os

# Like the container's parent: cap native thread pools before numpy is imported.
for _name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_name] = "1"

import http.client  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from endpointlab.emulator.workers.container import ContainerProcess, memory_usage  # noqa: E402
from endpointlab.models.artifact import extract_model_archive  # noqa: E402
from endpointlab.models.contract import InvocationRequest, load_handler  # noqa: E402
from endpointlab.models.examples import build_examples  # noqa: E402

REQUESTS = 3000
WARMUP = 500
BLOCKS = 6
COLD_STARTS = 5
TARGET_OVERHEAD_MS = 0.3
MB = 1024 * 1024
SERVER_CPU, CLIENT_CPU = 0, 1
_READY_LINE = re.compile(r"ready ([\d.]+) s after fork \(model load ([\d.]+) s\)")

# A minimal HTTP/1.1 responder: reads each request, sends the same canned reply.
CANNED_SERVER = r"""
import re, socket, sys
body = bytes.fromhex(sys.argv[1])
reply = (b"HTTP/1.1 200 OK\r\ndate: Thu, 01 Jan 2026 00:00:00 GMT\r\ncontent-type: text/csv\r\n"
         b"content-length: " + str(len(body)).encode() + b"\r\n\r\n" + body)
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
print(server.getsockname()[1], flush=True)
connection, _ = server.accept()
pending = b""
while True:
    data = connection.recv(65536)
    if not data:
        break
    pending += data
    while True:
        head, found, rest = pending.partition(b"\r\n\r\n")
        length = re.search(rb"(?i)content-length: *(\d+)", head) if found else None
        size = int(length.group(1)) if length else 0
        if not found or len(rest) < size:
            break
        pending = rest[size:]
        connection.sendall(reply)
"""


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def in_process(model_dir: Path, request: InvocationRequest) -> Callable[[int], list[float]]:
    """The floor: ``handler.invoke`` in this process, pinned to the server's core."""
    handler = load_handler(model_dir, {}, 1)

    def measure(count: int) -> list[float]:
        os.sched_setaffinity(0, {SERVER_CPU})
        samples = []
        for _ in range(count):
            began = time.perf_counter()
            response = handler.invoke(request)
            samples.append(time.perf_counter() - began)
            assert response.status == 200, response.body
        return samples

    return measure


def over_http(port: int, request: InvocationRequest) -> Callable[[int], list[float]]:
    """Sequential POST /invocations over one keep-alive connection, client on its own core."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": request.content_type or "", "Accept": request.accept or ""}

    def measure(count: int) -> list[float]:
        os.sched_setaffinity(0, {CLIENT_CPU})
        samples = []
        for _ in range(count):
            began = time.perf_counter()
            connection.request("POST", "/invocations", body=request.body, headers=headers)
            response = connection.getresponse()
            body = response.read()
            samples.append(time.perf_counter() - began)
            assert response.status == 200, body
        return samples

    return measure


def interleaved(*measures: Callable[[int], list[float]]) -> list[list[float]]:
    """Alternate blocks of every measurement so background load on this shared machine hits
    them alike; a warm-up block of each comes first."""
    for measure in measures:
        measure(WARMUP)
    samples: list[list[float]] = [[] for _ in measures]
    for _ in range(BLOCKS):
        for index, measure in enumerate(measures):
            samples[index] += measure(REQUESTS // BLOCKS)
    return samples


def start_canned_server(reply: bytes) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-c", CANNED_SERVER, reply.hex()], stdout=subprocess.PIPE, text=True
    )
    os.sched_setaffinity(process.pid, {SERVER_CPU})
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def cold_start(archive: Path) -> tuple[float, float, float]:
    """Spawn a container and poll /ping until it answers 200: (seconds, fork->ready, load)."""
    port = free_port()
    env = {**os.environ, "SAGEMAKER_BIND_TO_PORT": str(port), "SAGEMAKER_MODEL_SERVER_WORKERS": "1"}
    began = time.perf_counter()
    with ContainerProcess(archive, env, cpus=[SERVER_CPU]) as container:
        while True:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            try:
                connection.request("GET", "/ping")
                if connection.getresponse().status == 200:
                    elapsed = time.perf_counter() - began
                    break
            except ConnectionRefusedError:
                time.sleep(0.001)  # not listening yet: no worker has loaded the model
            finally:
                connection.close()
        container.wait_ready(60)
        fork_to_ready, load = _worker_timings(container)
    return elapsed, fork_to_ready, load


def _worker_timings(container: ContainerProcess) -> tuple[float, float]:
    """The supervisor's log line for its worker (fork -> ready, model load), once it is read."""
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        for line in list(container.stderr):
            if match := _READY_LINE.search(line):
                return float(match.group(1)), float(match.group(2))
        time.sleep(0.01)  # the stderr reader thread may lag the stdout one
    return float("nan"), float("nan")


def memory_row(label: str, pids: list[int]) -> str:
    usages = [memory_usage(pid) for pid in pids]
    rss = statistics.mean(u.rss_bytes for u in usages) / MB
    pss = mean_mb([u.pss_bytes for u in usages])
    uss = mean_mb([u.uss_bytes for u in usages])
    return f"  {label:<40} {rss:>8.1f} {pss:>8} {uss:>8}"


def mean_mb(values: list[int | None]) -> str:
    """The mean in MB, or "n/a" when the system did not report a value for every process."""
    if not values or any(v is None for v in values):
        return "n/a"
    return f"{statistics.mean(v for v in values if v is not None) / MB:.1f}"


def main() -> int:
    if not {SERVER_CPU, CLIENT_CPU} <= os.sched_getaffinity(0):
        print(f"needs cpus {SERVER_CPU} and {CLIENT_CPU} (server and client)", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="endpointlab-bench-") as temporary:
        out = Path(temporary)
        print("building rtb-ctr ...", flush=True)
        build_examples(out, ["rtb-ctr"])
        archive = out / "rtb-ctr" / "model.tar.gz"
        first = json.loads((out / "rtb-ctr" / "invoke_args.jsonl").read_text().splitlines()[0])
        request = InvocationRequest(first["Body"].encode(), first["ContentType"], "text/csv")
        model_dir = extract_model_archive(archive, out / "model")
        floor = in_process(model_dir, request)

        env = {**os.environ, "SAGEMAKER_BIND_TO_PORT": "0", "SAGEMAKER_MODEL_SERVER_WORKERS": "1"}
        with ContainerProcess(archive, env, cpus=[SERVER_CPU]) as container:
            url = container.wait_ready(120)
            canned, canned_port = start_canned_server(
                load_handler(model_dir, {}).invoke(request).body
            )
            try:
                samples = interleaved(
                    floor,
                    over_http(int(url.rsplit(":", 1)[1]), request),
                    over_http(canned_port, request),
                )
            finally:
                canned.kill()
                canned.wait()
            memory = [
                memory_row("1 worker: the worker", container.worker_pids()),
                memory_row("1 worker: the supervisor", [container.pid]),
            ]
        env4 = {**env, "SAGEMAKER_MODEL_SERVER_WORKERS": "4"}
        with ContainerProcess(archive, env4, cpus=[SERVER_CPU, CLIENT_CPU]) as container:
            container.wait_ready(120)
            memory.append(memory_row("4 workers: mean of the workers", container.worker_pids()))

        os.sched_setaffinity(0, {SERVER_CPU, CLIENT_CPU})
        colds = [cold_start(archive) for _ in range(COLD_STARTS)]

    report(samples, colds, memory)
    return 0


def report(
    samples: list[list[float]], colds: list[tuple[float, float, float]], memory: list[str]
) -> None:
    floor, served, canned = samples
    f50, f99 = percentile(floor, 50) * 1e3, percentile(floor, 99) * 1e3
    s50, s99 = percentile(served, 50) * 1e3, percentile(served, 99) * 1e3
    c50, c99 = percentile(canned, 50) * 1e3, percentile(canned, 99) * 1e3
    verdict = "met" if s50 - f50 < TARGET_OVERHEAD_MS else "NOT met"
    print()
    print(f"container overhead, rtb-ctr (1 CSV row, Accept text/csv): {REQUESTS} sequential calls")
    print(f"per row after {WARMUP} warm-up, in {BLOCKS} alternating blocks. Servers and the")
    print(f"in-process floor on cpu {SERVER_CPU}; http.client (one keep-alive connection)")
    print(f"on cpu {CLIENT_CPU}. Load average at the end (other work on this machine): ", end="")
    print(" ".join(f"{load:.2f}" for load in os.getloadavg()))
    print()
    print(f"  {'':<40} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"  {'in-process handler.invoke (floor)':<40} {f50:>8.3f} {f99:>8.3f}")
    print(f"  {'POST /invocations, container':<40} {s50:>8.3f} {s99:>8.3f}")
    print(f"  {'canned reply (http.client + loopback)':<40} {c50:>8.3f} {c99:>8.3f}")
    print(f"  {'~ overhead (container - floor)':<40} {s50 - f50:>8.3f} {s99 - f99:>8.3f}")
    print(f"  {'ratio of the p50s, of the p99s':<40} {s50 / f50:>8.2f} {s99 / f99:>8.2f}")
    print(
        f"  {'~ the container itself (- canned too)':<40} "
        f"{s50 - f50 - c50:>8.3f} {s99 - f99 - c99:>8.3f}"
    )
    print("  ~ approximate: percentiles of separate runs subtracted (a difference of p99s is")
    print("    not the p99 of any request's overhead)")
    print(f"  target p50 overhead < {TARGET_OVERHEAD_MS:.3f} ms: {verdict}")
    print()
    cold = statistics.median(c[0] for c in colds)
    runs = ", ".join(f"{c[0]:.2f}" for c in colds)
    fork_ready = statistics.median(c[1] for c in colds) * 1e3
    load = statistics.median(c[2] for c in colds) * 1e3
    print(f"  cold start, spawn -> first 200 /ping, median of {len(colds)}: {cold:.2f} s ({runs})")
    print(f"    of which worker fork -> ready: {fork_ready:.1f} ms (model load {load:.1f} ms)")
    print()
    print(f"  {'memory after the run':<40} {'RSS MB':>8} {'PSS MB':>8} {'USS MB':>8}")
    for row in memory:
        print(row)


if __name__ == "__main__":
    sys.exit(main())

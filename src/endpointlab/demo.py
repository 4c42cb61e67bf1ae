"""Try an example model end to end: build it, serve it in a real container process, invoke it.

This is what a user does by hand with ``endpointlab examples build`` and ``endpointlab container``
followed by POSTs to ``/invocations``; it prints each sample request's response and a summary.
"""

from __future__ import annotations

import http.client
import json
import selectors
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from endpointlab.models.examples import build_examples

START_TIMEOUT_S = 120.0


class DemoError(Exception):
    """The example could not be served or invoked; the message says why."""


def run_example(
    name: str, out_dir: Path, *, limit: int | None = None, echo: Callable[[str], None] = print
) -> list[int]:
    """Serve example ``name`` from ``out_dir`` and send its sample requests; return the statuses."""
    archive = out_dir / name / "model.tar.gz"
    args_file = out_dir / name / "invoke_args.jsonl"
    if not (archive.is_file() and args_file.is_file()):
        echo(f"Building example {name} into {out_dir} ...")
        build_examples(out_dir, [name])
    requests = [json.loads(line) for line in args_file.read_text().splitlines() if line.strip()]
    if limit is not None:
        requests = requests[:limit]
    started = time.perf_counter()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "endpointlab",
            "container",
            str(archive),
            "--port",
            "0",
            "--workers",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = _wait_for_url(process)
        echo(f"Container for {name} ready at {url} in {time.perf_counter() - started:.2f} s")
        return _invoke_all(url, requests, echo)
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_for_url(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    selector = selectors.DefaultSelector()
    selector.register(process.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if not selector.select(timeout=0.5):
            if process.poll() is not None:
                break
            continue
        line = process.stdout.readline()
        if not line:
            break
        if " at http://" in line:
            return line.rsplit(" at ", 1)[1].strip()
    process.kill()
    _, errors = process.communicate()
    last = (errors or "").strip().splitlines()
    raise DemoError(f"the container did not start: {last[-1] if last else 'no output'}")


def _invoke_all(url: str, requests: list[dict[str, str]], echo: Callable[[str], None]) -> list[int]:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=70)
    statuses: list[int] = []
    latencies: list[float] = []
    try:
        for number, args in enumerate(requests, start=1):
            headers = {"Content-Type": args["ContentType"]}
            if args.get("Accept"):
                headers["Accept"] = args["Accept"]
            body = args["Body"].encode("utf-8")
            started = time.perf_counter()
            connection.request("POST", "/invocations", body=body, headers=headers)
            response = connection.getresponse()
            payload = response.read()
            latencies.append((time.perf_counter() - started) * 1000)
            statuses.append(response.status)
            shown = payload.decode("utf-8", errors="replace").strip().replace("\n", " | ")
            if len(shown) > 100:
                shown = shown[:97] + "..."
            echo(
                f"#{number:<3} {args['ContentType']:<17} {len(body):>7} B -> {response.status} "
                f"{response.getheader('Content-Type', '')}: {shown}  ({latencies[-1]:.2f} ms)"
            )
    finally:
        connection.close()
    ok = sum(1 for status in statuses if status == 200)
    if latencies:
        echo(
            f"{ok}/{len(statuses)} succeeded; latency p50 {statistics.median(latencies):.2f} ms, "
            f"max {max(latencies):.2f} ms"
        )
    if ok != len(statuses):
        raise DemoError(f"{len(statuses) - ok} of {len(statuses)} sample requests failed")
    return statuses

"""Serverless capacity of the emulator on this machine, measured in one run.

Starts ``endpointlab serve`` twice as a separate process and prints:
1. cold-start time of each example model, median and max of 20 cold starts (an emulator whose
   keep-warm period is 0.25 s, so each request after a pause finds no warm instance): request
   arrival to response at a boto3 client, and the setup time the emulator measured;
2. 200 simultaneous requests to a cold rtb-ctr endpoint with MaxConcurrency 200: requests
   SigV4-signed by botocore as boto3 sends them, written on 200 open connections at once (so the
   client's own speed does not spread the arrivals); how many were answered, and how soon;
3. the resident memory of those 200 warm rtb-ctr instances (PSS summed; RSS and USS too);
4. the throughput of a MaxConcurrency=8 serverless endpoint against a real-time endpoint with
   8 workers on rtb-ctr (wrk, 8 connections), and their ratio. Requires ``wrk``.

The server (and every worker it forks) is pinned to core 0, the load client (this process,
and wrk) to core 1, as in the other benchmarks.

    uv run python benchmarks/serverless_scale.py [--seconds 5] [--samples 20] [--burst 200]
        [--only cold|scale|throughput]   (scale: parts 2 and 3, the burst and its memory)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import selectors
import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psutil
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

from _serve import serve
from endpointlab.models.examples import build_examples

MB = 1024 * 1024
PARTS = ("cold", "scale", "throughput")
COLD_HEADER = "x-endpointlab-cold-start-ms"
SERVER_CORE, CLIENT_CORE = 0, 1


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    url: str
    data_dir: Path

    def client(self, service: str, **config: Any) -> Any:
        options = {"retries": {"total_max_attempts": 1}, "max_pool_connections": 50}
        options.update(config)
        return boto3.client(
            service, endpoint_url=self.url, region_name="us-east-1",
            aws_access_key_id="bench", aws_secret_access_key="bench", config=Config(**options),
        )  # fmt: skip


@contextlib.contextmanager
def serving(data_dir: Path, *flags: str) -> Iterator[Server]:
    # The example archive sits beside the data directories: allow it as a model root.
    model_root = ("--model-root", str(data_dir.parent))
    with serve(data_dir, *model_root, *flags, core=SERVER_CORE) as started:
        yield Server(started.process, started.url, data_dir)


def deploy(server: Server, name: str, archive: Path, variant: dict[str, Any]) -> None:
    sagemaker = server.client("sagemaker")
    environment = variant.pop("Environment", {})
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": "bench", "ModelDataUrl": str(archive),
                          "Environment": environment},
    )  # fmt: skip
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, **variant}],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.2, "MaxAttempts": 600}
    )


def serverless(memory_mb: int, max_concurrency: int) -> dict[str, Any]:
    return {"ServerlessConfig": {"MemorySizeInMB": memory_mb, "MaxConcurrency": max_concurrency}}


def first_request(archive: Path) -> dict[str, str]:
    lines = (archive.parent / "invoke_args.jsonl").read_text().splitlines()
    return dict(json.loads(lines[0]))


# --- 1. cold starts ---------------------------------------------------------------------------


def cold_starts(server: Server, name: str, request: dict[str, str], samples: int) -> list[float]:
    """``samples`` (client ms, emulator setup ms) of requests that each started an instance."""
    runtime = server.client("sagemaker-runtime", read_timeout=300)
    out: list[float] = []
    setups: list[float] = []
    while len(out) < samples:
        time.sleep(0.6)  # past the 0.25 s keep-warm: the last instance is reclaimed by now
        started = time.perf_counter()
        reply = runtime.invoke_endpoint(EndpointName=name, **request)
        reply["Body"].read()
        elapsed = (time.perf_counter() - started) * 1e3
        setup = reply["ResponseMetadata"]["HTTPHeaders"].get(COLD_HEADER)
        if setup is not None:  # warm (a reclaim still under way) does not count
            out.append(elapsed)
            setups.append(float(setup))
    return out + setups


# --- 2. the burst, on raw connections ----------------------------------------------------------


def signed_request(url: str, endpoint: str, request: dict[str, str]) -> bytes:
    """InvokeEndpoint as boto3 sends it, SigV4-signed by botocore, as HTTP/1.1 bytes."""
    aws = AWSRequest(
        method="POST",
        url=f"{url}/endpoints/{endpoint}/invocations",
        data=request["Body"].encode(),
        headers={"Content-Type": request["ContentType"], "Accept": "*/*"},
    )
    SigV4Auth(Credentials("bench", "bench"), "sagemaker", "us-east-1").add_auth(aws)
    host = url.split("://", 1)[1]
    head = [f"POST /endpoints/{endpoint}/invocations HTTP/1.1", f"Host: {host}"]
    head += [f"{k}: {v}" for k, v in aws.headers.items()]
    head += [f"Content-Length: {len(aws.body)}", "", ""]
    return "\r\n".join(head).encode() + aws.body


@dataclass
class Answer:
    status: int
    at_s: float
    cold: bool


def burst(url: str, payload: bytes, count: int) -> list[Answer]:
    """Write ``payload`` on ``count`` open connections at once; time each complete answer."""
    host, port = url.split("://", 1)[1].split(":")
    sockets = [socket.create_connection((host, int(port))) for _ in range(count)]
    selector = selectors.DefaultSelector()
    buffers: dict[socket.socket, bytearray] = {}
    answers: list[Answer] = []
    started = time.perf_counter()
    for sock in sockets:
        sock.sendall(payload)
    for sock in sockets:
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
        buffers[sock] = bytearray()
    while len(answers) < count:
        for key, _ in selector.select(timeout=120):
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            chunk = sock.recv(65536)
            buffers[sock] += chunk
            answer = complete(buffers[sock], time.perf_counter() - started)
            if answer is not None or not chunk:
                selector.unregister(sock)
                answers.append(answer or Answer(0, time.perf_counter() - started, False))
    for sock in sockets:
        sock.close()
    return answers


def complete(data: bytearray, at_s: float) -> Answer | None:
    head, sep, body = bytes(data).partition(b"\r\n\r\n")
    if not sep:
        return None
    lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (ln.partition(":") for ln in lines[1:])}
    if len(body) < int(headers.get("content-length", "0")):
        return None
    return Answer(int(lines[0].split()[1]), at_s, COLD_HEADER in headers)


# --- 3. memory --------------------------------------------------------------------------------


def workers_of(server: Server) -> list[psutil.Process]:
    """The worker processes: children of the fork server, itself a child of ``serve``."""
    serve_process = psutil.Process(server.process.pid)
    return [p for p in serve_process.children(recursive=True) if p.ppid() != serve_process.pid]


def memory(processes: list[psutil.Process]) -> dict[str, float]:
    totals = {"rss": 0.0, "pss": 0.0, "uss": 0.0}
    for process in processes:
        info = process.memory_full_info()
        totals["rss"] += info.rss
        totals["pss"] += info.pss
        totals["uss"] += info.uss
    return {key: value / MB for key, value in totals.items()}


# --- 4. throughput ----------------------------------------------------------------------------


def wrk(url: str, endpoint: str, request: dict[str, str], seconds: float, work: Path) -> Any:
    aws = AWSRequest(
        method="POST", url=f"{url}/endpoints/{endpoint}/invocations",
        data=request["Body"].encode(), headers={"Content-Type": request["ContentType"]},
    )  # fmt: skip
    SigV4Auth(Credentials("bench", "bench"), "sagemaker", "us-east-1").add_auth(aws)
    script = work / f"{endpoint}.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(request['Body'])}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in aws.headers.items()]
    script.write_text("\n".join(lines) + "\n")
    output = subprocess.run(
        ["taskset", "-c", str(CLIENT_CORE), "wrk", "-t1", "-c8", f"-d{round(seconds)}s",
         "--latency", "-s", str(script), f"{url}/endpoints/{endpoint}/invocations"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"errors during the run:\n{output}")
    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s*50%\s+([\d.]+)(us|ms|s)", output, re.MULTILINE)
    p99 = re.search(r"^\s*99%\s+([\d.]+)(us|ms|s)", output, re.MULTILINE)
    assert rps and p50 and p99, output
    scale = {"us": 1e-3, "ms": 1.0, "s": 1e3}
    return (
        float(rps.group(1)),
        float(p50.group(1)) * scale[p50.group(2)],
        float(p99.group(1)) * scale[p99.group(2)],
    )


def report_cold_starts(server: Server, examples: dict[str, Path], samples: int) -> None:
    for name, archive in examples.items():
        deploy(server, name, archive, serverless(2048, 1))
    print(f"\n1. cold starts: {samples} per model, MemorySizeInMB 2048, request "
          "arrival to response at the client; setup = worker start and model load")  # fmt: skip
    # Twenty samples support a median and a max, not a p99.
    print(f"{'model':<18}{'p50 ms':>9}{'max ms':>9}{'setup p50':>11}{'setup max':>11}")
    for name, archive in examples.items():
        both = cold_starts(server, name, first_request(archive), samples)
        client, setup = both[:samples], both[samples:]
        print(f"{name:<18}{statistics.median(client):>9.1f}{max(client):>9.1f}"
              f"{statistics.median(setup):>11.1f}{max(setup):>11.1f}")  # fmt: skip


def report_burst_and_memory(server: Server, rtb: Path, count: int) -> None:
    deploy(server, "burst", rtb, serverless(1024, count))
    payload = signed_request(server.url, "burst", first_request(rtb))
    answers = burst(server.url, payload, count)
    # Each instance has a cgroup of its own when CPU shares are enforced with quotas.
    quota = any(Path("/sys/fs/cgroup/cpu").glob(f"endpointlab-{server.process.pid}-*"))
    ok = [a for a in answers if a.status == 200]
    times = [a.at_s for a in answers]
    print(f"\n2. {count} simultaneous requests, cold rtb-ctr endpoint (MaxConcurrency "
          f"{count}, 1024 MB; CPU shares by "
          f"{'cgroup cpu quotas' if quota else 'thread pools only'})")  # fmt: skip
    print(f"   answered {len(ok)}/{count} (200 OK), {sum(a.cold for a in ok)} cold starts; all "
          f"within {max(times):.2f} s (p50 {statistics.median(times):.2f} s)")  # fmt: skip

    # A request that arrived after an instance was free took it warm: top the endpoint up to
    # MaxConcurrency instances (as many requests busy at once) before measuring.
    for _ in range(3):
        if len(workers_of(server)) >= count:
            break
        burst(server.url, payload, count)
    time.sleep(2.0)  # workers return freed heap after 1 s idle (after loading, after requests)
    processes = workers_of(server)
    figures = memory(processes)
    print(f"\n3. resident memory of the {len(processes)} warm rtb-ctr instances")
    print(f"   PSS {figures['pss']:.0f} MB in all ({figures['pss'] / len(processes):.1f} MB "
          "each; shared pages split among the processes sharing them)")  # fmt: skip
    print(f"   USS {figures['uss']:.0f} MB (their own pages), RSS {figures['rss']:.0f} MB "
          "(shared pages counted in every process)")  # fmt: skip
    sagemaker = server.client("sagemaker")
    sagemaker.delete_endpoint(EndpointName="burst")
    sagemaker.get_waiter("endpoint_deleted").wait(
        EndpointName="burst", WaiterConfig={"Delay": 0.2, "MaxAttempts": 600}
    )


def report_throughput(server: Server, rtb: Path, seconds: float, work: Path) -> None:
    deploy(server, "serverless8", rtb, serverless(2048, 8))
    deploy(server, "realtime8", rtb, {
        "InstanceType": "ml.m5.2xlarge", "InitialInstanceCount": 1,
        "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "8"},
    })  # fmt: skip
    request = first_request(rtb)
    results = {}
    for endpoint in ("serverless8", "realtime8"):
        wrk(server.url, endpoint, request, 1, work)  # warm-up: 8 instances / workers up
        # wrk stops with 8 requests unanswered; the emulator still serves them. Let them finish
        # first, or the measured run's first requests would be throttled (MaxConcurrency 8).
        time.sleep(0.5)
        results[endpoint] = wrk(server.url, endpoint, request, seconds, work)
    print(f"\n4. throughput on rtb-ctr, 8 connections (wrk), {seconds:g} s each")
    labels = {"serverless8": "serverless, MaxConcurrency 8",
              "realtime8": "real-time ml.m5.2xlarge, 8 workers"}  # fmt: skip
    for endpoint, (rps, p50, p99) in results.items():
        print(f"   {labels[endpoint]:<36}{rps:>9.0f} req/s  p50 {p50:.2f} ms  p99 {p99:.2f} ms")
    ratio = results["serverless8"][0] / results["realtime8"][0]
    print(f"   ratio serverless / real-time: {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5, help="Length of each wrk run.")
    parser.add_argument("--samples", type=int, default=20, help="Cold starts per model.")
    parser.add_argument("--burst", type=int, default=200, help="Simultaneous requests.")
    parser.add_argument(
        "--only",
        choices=PARTS,
        action="append",
        help="Run only this part (repeatable): cold = 1, scale = 2 and 3, throughput = 4.",
    )
    args = parser.parse_args()
    if not {SERVER_CORE, CLIENT_CORE} <= os.sched_getaffinity(0):
        raise SystemExit(f"needs cpus {SERVER_CORE} and {CLIENT_CORE} (server and client)")
    if shutil.which("taskset") is None:
        raise SystemExit("taskset is required (util-linux) to pin the server")
    parts = set(args.only or PARTS)
    if "throughput" in parts and shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    os.sched_setaffinity(0, {CLIENT_CORE})  # the load client; serve runs under taskset
    work = Path(tempfile.mkdtemp(prefix="serverless-scale-"))
    examples = {b.name: b.archive for b in build_examples(work / "examples")}
    print(f"endpointlab serverless capacity: server on core {SERVER_CORE}, load client on core "
          f"{CLIENT_CORE} ({os.cpu_count()} CPUs on this machine)")  # fmt: skip
    if "cold" in parts:
        with serving(work / "cold", "--serverless-keep-warm", "0.25") as server:
            report_cold_starts(server, examples, args.samples)
    if parts & {"scale", "throughput"}:
        with serving(work / "scale") as server:
            if "scale" in parts:
                report_burst_and_memory(server, examples["rtb-ctr"], args.burst)
            if "throughput" in parts:
                report_throughput(server, examples["rtb-ctr"], args.seconds, work)


if __name__ == "__main__":
    main()

"""What the emulator's InvokeEndpoint path costs over the worker it drives, and over the model.

In one run, for the ``rtb-ctr`` example: in-process ``handler.invoke`` (the physical floor); the
emulator's own worker reached directly: one fork-server worker, started as the emulator starts
the worker of a one-worker ml.m5.large instance, called back to back over its Unix socket by
``RemoteWorker`` (the emulator's frame client); ``InvokeEndpoint`` through ``endpointlab serve``
(a one-instance endpoint with one worker) at 1, 8 and 16 concurrent clients, without and with
``--auth`` (the same SigV4 signature then verified and the key's policy evaluated); and, as a
line of its own, a direct ``POST /invocations`` to ``endpointlab container`` with one worker
(a different worker stack: HTTP in a preforked worker, not frames). Servers and workers are
pinned to core 0, load clients (wrk, replaying a request SigV4-signed by botocore exactly as
boto3 sends it; the frame client) to core 1. Requires ``wrk`` (Debian package).

    uv run python benchmarks/invoke_overhead.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
import uvloop
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from endpointlab.emulator.workers.fork.framed_child import WorkerSpec
from endpointlab.emulator.workers.fork.host import WorkerHost
from endpointlab.models.artifact import extract_model_archive
from endpointlab.models.contract import InvocationRequest, load_handler
from endpointlab.models.examples import build_examples

SERVER_CORE = "0"
CLIENT_CORE = "1"
CONCURRENCY = (1, 8, 16)
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}
Figures = dict[int, dict[str, float]]  # by concurrent clients: p50, p99 (ms), rps
# What the emulator gives the one worker of an ml.m5.large instance (2 vCPUs): realtime.py.
ONE_WORKER = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}
WORKER_THREADS = 2
AUTH_DOCUMENT = {
    "keys": [
        {
            "access_key_id": "bench",
            "secret_access_key": "bench",
            "policies": [{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
        }
    ]
}


def summary(samples: list[float], elapsed_s: float) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "p50": samples[len(samples) // 2],
        "p99": samples[int(len(samples) * 0.99)],
        "rps": len(samples) / elapsed_s,
    }


def in_process(model_dir: Path, body: bytes, calls: int = 5000) -> dict[str, float]:
    os.sched_setaffinity(0, {int(SERVER_CORE)})
    handler = load_handler(model_dir, {}, threads=1)
    request = InvocationRequest(body=body, content_type="text/csv", accept="text/csv")
    for _ in range(300):
        handler.invoke(request)
    samples = []
    began = time.perf_counter()
    for _ in range(calls):
        started = time.perf_counter()
        handler.invoke(request)
        samples.append((time.perf_counter() - started) * 1e3)
    elapsed = time.perf_counter() - began
    os.sched_setaffinity(0, set(range(os.cpu_count() or 2)))
    return summary(samples, elapsed)


def frame_worker(model_dir: Path, body: bytes, seconds: float) -> dict[str, float]:
    """The emulator's worker without the emulator: forked by the fork server on core 0, called
    back to back by ``RemoteWorker.call`` (uvloop, as in ``serve``) from core 1."""
    spec = WorkerSpec(str(model_dir), dict(ONE_WORKER), WORKER_THREADS)
    request = InvocationRequest(body=body, content_type="text/csv", accept="text/csv")

    host = WorkerHost()

    async def run() -> dict[str, float]:
        worker = await host.spawn(spec, ready_timeout_s=120)
        os.sched_setaffinity(0, {int(CLIENT_CORE)})
        try:
            for _ in range(300):
                await worker.call(request, 60)
            samples = []
            began = time.perf_counter()
            while time.perf_counter() - began < seconds:
                started = time.perf_counter()
                result = await worker.call(request, 60)
                samples.append((time.perf_counter() - started) * 1e3)
                if result.reply is None or result.reply.response.status != 200:
                    raise SystemExit(f"the worker failed: {result}")
            return summary(samples, time.perf_counter() - began)
        finally:
            await worker.stop()

    os.sched_setaffinity(0, {int(SERVER_CORE)})  # the fork server and its worker inherit it
    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(run())
    finally:
        host.close()
        os.sched_setaffinity(0, set(range(os.cpu_count() or 2)))


def start(command: list[str], marker: str) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        ["taskset", "-c", SERVER_CORE, *command], stdout=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        if marker in line:
            match = re.search(r"http://[\d.]+:\d+", line)
            assert match, line
            return process, match.group(0)
    process.kill()
    raise SystemExit(f"could not start: {' '.join(command)}")


def stop(process: subprocess.Popen[str]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()


def lua_script(path: Path, method: str, body: str, headers: dict[str, str]) -> Path:
    lines = [f"wrk.method = {json.dumps(method)}", f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def wrk(url: str, script: Path, connections: int, seconds: int) -> dict[str, float]:
    output = subprocess.run(
        ["taskset", "-c", CLIENT_CORE, "wrk", "-t1", f"-c{connections}", f"-d{seconds}s",
         "--latency", "-s", str(script), url],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    if "Non-2xx" in output or "Socket errors" in output:
        raise SystemExit(f"errors during the run:\n{output}")

    def latency(label: str) -> float:
        match = re.search(rf"^\s*{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
        assert match, output
        return float(match.group(1)) * UNITS[match.group(2)]

    rps = re.search(r"Requests/sec:\s+([\d.]+)", output)
    assert rps, output
    return {"p50": latency("50"), "p99": latency("99"), "rps": float(rps.group(1))}


def deploy(url: str, archive: Path) -> None:
    kwargs = {"endpoint_url": url, "region_name": "us-east-1",
              "aws_access_key_id": "bench", "aws_secret_access_key": "bench"}  # fmt: skip
    sagemaker = boto3.client("sagemaker", **kwargs)
    sagemaker.create_model(
        ModelName="rtb",
        PrimaryContainer={
            "Image": "endpointlab/xgboost",
            "ModelDataUrl": str(archive),
            "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"},
        },
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName="rtb",
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": "rtb",
                             "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}],
    )  # fmt: skip
    sagemaker.create_endpoint(EndpointName="rtb", EndpointConfigName="rtb")
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName="rtb", WaiterConfig={"Delay": 0.5, "MaxAttempts": 240}
    )


def signed_headers(url: str, body: str) -> dict[str, str]:
    request = AWSRequest(
        method="POST",
        url=f"{url}/endpoints/rtb/invocations",
        data=body.encode(),
        headers={"Content-Type": "text/csv", "Accept": "text/csv"},
    )
    SigV4Auth(Credentials("bench", "bench"), "sagemaker", "us-east-1").add_auth(request)
    return dict(request.headers.items())


def container_runs(archive: Path, body: str, seconds: int, work: Path) -> Figures:
    container, url = start(
        [sys.executable, "-m", "endpointlab", "container", str(archive), "--port", "0",
         "--workers", "1"], " at http://",
    )  # fmt: skip
    try:
        script = lua_script(work / "direct.lua", "POST", body,
                            {"Content-Type": "text/csv", "Accept": "text/csv"})  # fmt: skip
        wrk(f"{url}/invocations", script, 8, 2)  # warm-up
        return {c: wrk(f"{url}/invocations", script, c, seconds) for c in CONCURRENCY}
    finally:
        stop(container)


def emulator_runs(archive: Path, body: str, seconds: int, data: Path, *flags: str) -> Figures:
    emulator, url = start(
        [sys.executable, "-m", "endpointlab", "serve", "--port", "0", "--data-dir", str(data),
         "--model-root", str(archive.parent), *flags], "listening on",
    )  # fmt: skip
    try:
        deploy(url, archive)
        script = lua_script(data / "invoke.lua", "POST", body, signed_headers(url, body))
        target = f"{url}/endpoints/rtb/invocations"
        wrk(target, script, 8, 2)  # warm-up
        return {c: wrk(target, script, c, seconds) for c in CONCURRENCY}
    finally:
        stop(emulator)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="Length of each wrk run.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="invoke-overhead-"))
    archive = build_examples(work / "examples", ["rtb-ctr"])[0].archive
    body = json.loads((archive.parent / "invoke_args.jsonl").read_text().splitlines()[0])["Body"]
    model_dir = extract_model_archive(archive, work / "model")
    auth_file = work / "auth.json"
    auth_file.write_text(json.dumps(AUTH_DOCUMENT))

    floor = in_process(model_dir, body.encode())
    frames = frame_worker(model_dir, body.encode(), args.seconds)
    emulated = emulator_runs(archive, body, args.seconds, work / "data")
    verified = emulator_runs(
        archive, body, args.seconds, work / "data-auth", "--auth", str(auth_file)
    )
    container = container_runs(archive, body, args.seconds, work)
    report(args.seconds, floor, frames, emulated, verified, container)


def report(
    seconds: int,
    floor: dict[str, float],
    frames: dict[str, float],
    emulated: Figures,
    verified: Figures,
    container: Figures,
) -> None:
    print(f"rtb-ctr, servers and workers on core {SERVER_CORE}, clients on core {CLIENT_CORE}, "
          f"{seconds} s per run; load average at the end (other work on this machine): "
          + " ".join(f"{load:.2f}" for load in os.getloadavg()))  # fmt: skip
    print(f"{'path':<40}{'clients':>8}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}")

    def row(path: str, clients: int | str, figures: dict[str, float]) -> None:
        print(f"{path:<40}{clients:>8}{figures['p50']:>10.3f}{figures['p99']:>10.3f}"
              f"{figures['rps']:>10.0f}")  # fmt: skip

    row("in-process handler.invoke", 1, floor)
    row("emulator's worker, frames (RemoteWorker)", 1, frames)
    for clients in CONCURRENCY:
        row("emulator InvokeEndpoint", clients, emulated[clients])
    for clients in CONCURRENCY:
        row("emulator InvokeEndpoint, --auth", clients, verified[clients])
    print()
    one = emulated[1]
    print(f"over the same worker reached by frames, 1 client: the emulator adds "
          f"{one['p50'] - frames['p50']:+.3f} ms at p50 (target <= 0.5 ms), "
          f"{one['p99'] - frames['p99']:+.3f} ms at p99 (differences of percentiles)")  # fmt: skip
    for clients in CONCURRENCY[1:]:
        ratio = emulated[clients]["rps"] / frames["rps"]
        print(f"{clients:>2} clients: {emulated[clients]['rps']:.0f} req/s, {ratio:.2f}x the "
              "worker's own back-to-back rate over frames")  # fmt: skip
    for clients in CONCURRENCY:
        added = verified[clients]["p50"] - emulated[clients]["p50"]
        ratio = verified[clients]["rps"] / emulated[clients]["rps"]
        print(f"--auth, {clients:>2} clients: SigV4 verification and IAM evaluation add "
              f"{added:+.3f} ms at p50 (of separate runs); throughput {ratio:.2f}x without "
              "--auth")  # fmt: skip
    print(f"1 instance on 1 core at 8 clients: {emulated[8]['rps']:.0f} req/s "
          f"(target >= 1200; stretch 1600); model floor {floor['p50']:.3f} ms per request "
          f"= {1e3 / floor['p50']:.0f} req/s at most")  # fmt: skip
    print()
    print(
        "a different worker stack, for reference: endpointlab container (HTTP worker), "
        "direct POST /invocations"
    )
    for clients in CONCURRENCY:
        figures = container[clients]
        print(f"  {clients:>2} clients: p50 {figures['p50']:.3f} ms, p99 {figures['p99']:.3f} ms, "
              f"{figures['rps']:.0f} req/s")  # fmt: skip


if __name__ == "__main__":
    main()

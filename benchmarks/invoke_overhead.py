"""What the emulator's InvokeEndpoint path costs over a direct POST to a worker and over the model.

In one run, for the ``rtb-ctr`` example: in-process ``handler.invoke`` (the physical floor), a
direct ``POST /invocations`` to ``endpointlab container`` with one worker, and ``InvokeEndpoint``
through ``endpointlab serve`` (a one-instance endpoint with one worker), each at 1, 8 and 16
concurrent clients. Servers are pinned to core 0, the load client (wrk, replaying a request
SigV4-signed by botocore exactly as boto3 sends it) to core 1. Requires ``wrk`` (Debian package).

    uv run python benchmarks/invoke_overhead.py [--seconds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from endpointlab.models.artifact import extract_model_archive
from endpointlab.models.contract import InvocationRequest, load_handler
from endpointlab.models.examples import build_examples

SERVER_CORE = "0"
CLIENT_CORE = "1"
CONCURRENCY = (1, 8, 16)
UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def in_process(archive: Path, body: bytes, calls: int = 5000) -> dict[str, float]:
    os.sched_setaffinity(0, {int(SERVER_CORE)})
    model_dir = extract_model_archive(archive, Path(tempfile.mkdtemp()) / "model")
    handler = load_handler(model_dir, {}, threads=1)
    request = InvocationRequest(body=body, content_type="text/csv", accept="text/csv")
    for _ in range(300):
        handler.invoke(request)
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        handler.invoke(request)
        samples.append((time.perf_counter() - started) * 1e3)
    samples.sort()
    os.sched_setaffinity(0, set(range(os.cpu_count() or 2)))
    return {
        "p50": samples[len(samples) // 2],
        "p99": samples[int(len(samples) * 0.99)],
        "rps": 1e3 / statistics.fmean(samples),
    }


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="Length of each wrk run.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="invoke-overhead-"))
    archive = build_examples(work / "examples", ["rtb-ctr"])[0].archive
    body = json.loads((archive.parent / "invoke_args.jsonl").read_text().splitlines()[0])["Body"]
    results: dict[str, dict[int, dict[str, float]]] = {}
    floor = in_process(archive, body.encode())
    results["in-process handler.invoke"] = {c: floor for c in CONCURRENCY}

    container, container_url = start(
        [sys.executable, "-m", "endpointlab", "container", str(archive), "--port", "0",
         "--workers", "1"], " at http://",
    )  # fmt: skip
    try:
        script = lua_script(work / "direct.lua", "POST", body,
                            {"Content-Type": "text/csv", "Accept": "text/csv"})  # fmt: skip
        wrk(f"{container_url}/invocations", script, 8, 2)  # warm-up
        results["direct POST /invocations"] = {
            c: wrk(f"{container_url}/invocations", script, c, args.seconds) for c in CONCURRENCY
        }
    finally:
        stop(container)

    emulator, emulator_url = start(
        [sys.executable, "-m", "endpointlab", "serve", "--port", "0",
         "--data-dir", str(work / "data"), "--model-root", str(work)], "listening on",
    )  # fmt: skip
    try:
        deploy(emulator_url, archive)
        script = lua_script(work / "invoke.lua", "POST", body, signed_headers(emulator_url, body))
        target = f"{emulator_url}/endpoints/rtb/invocations"
        wrk(target, script, 8, 2)  # warm-up
        results["emulator InvokeEndpoint"] = {
            c: wrk(target, script, c, args.seconds) for c in CONCURRENCY
        }
    finally:
        stop(emulator)

    print(f"rtb-ctr, server on core {SERVER_CORE}, wrk on core {CLIENT_CORE}, "
          f"{args.seconds} s per run")  # fmt: skip
    print(f"{'path':<28}{'clients':>8}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}")
    for path, by_clients in results.items():
        for clients, figures in by_clients.items():
            if path.startswith("in-process") and clients != 1:
                continue
            print(f"{path:<28}{clients:>8}{figures['p50']:>10.3f}{figures['p99']:>10.3f}"
                  f"{figures['rps']:>10.0f}")  # fmt: skip
    direct = results["direct POST /invocations"]
    emulated = results["emulator InvokeEndpoint"]
    print()
    for clients in CONCURRENCY:
        added = emulated[clients]["p50"] - direct[clients]["p50"]
        ratio = emulated[clients]["rps"] / direct[clients]["rps"]
        print(f"{clients:>2} clients: emulator adds {added:+.3f} ms at p50 over a direct POST "
              f"(target <= 0.5 ms); throughput {ratio:.2f}x the direct POST's")  # fmt: skip
    print(f"1 instance on 1 core at 8 clients: {emulated[8]['rps']:.0f} req/s "
          f"(target >= 1200; stretch 1600); model floor {floor['p50']:.3f} ms per request "
          f"= {1e3 / floor['p50']:.0f} req/s at most")  # fmt: skip


if __name__ == "__main__":
    main()

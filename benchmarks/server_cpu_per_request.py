"""Server CPU per InvokeEndpoint, this checkout against another one, runs interleaved.

Wall-clock throughput on this shared machine varies up to twice between runs of the same code;
the CPU the server spends per request varies far less, so it is the figure to compare two
versions by. For each checkout in turn (``--rounds`` times, alternating): ``endpointlab serve``
pinned to core 0 with a one-worker ml.m5.large endpoint of ``rtb-ctr``, driven by this
checkout's ``endpointlab load`` (the same client for both) on core 1, ``--clients`` closed-loop
clients for ``--seconds``; CPU is the user+system time of serve, its fork server and workers.

    uv run python benchmarks/server_cpu_per_request.py --baseline /path/to/old/checkout

The baseline needs its own synced ``.venv`` (``make setup`` there).
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import tempfile
from pathlib import Path

import boto3
import psutil

from _serve import serve
from endpointlab.models.examples import build_examples

HERE = Path(__file__).resolve().parent.parent


def tree_cpu_s(pid: int) -> float:
    root = psutil.Process(pid)
    total = 0.0
    for process in [root, *root.children(recursive=True)]:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def one_checkout(checkout: Path, archive: Path, work: Path, args: argparse.Namespace) -> list:
    flags = ["--model-root", str(archive.parent)] if checkout == HERE else []
    python = str(checkout / ".venv/bin/python")
    with serve(
        work / "data", *flags, core=0, python=python, cwd=archive.parent, stop_signal=signal.SIGINT
    ) as serving:
        url, serve_pid = serving.url, serving.process.pid
        env = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench"}  # fmt: skip
        sagemaker = boto3.client(
            "sagemaker", endpoint_url=env["AWS_ENDPOINT_URL"], region_name="us-east-1",
            aws_access_key_id="bench", aws_secret_access_key="bench",
        )  # fmt: skip
        sagemaker.create_model(
            ModelName="m",
            ExecutionRoleArn="arn:aws:iam::123456789012:role/bench",
            PrimaryContainer={"Image": "bench", "ModelDataUrl": str(archive),
                              "Environment": {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}},
        )  # fmt: skip
        variant = {"VariantName": "AllTraffic", "ModelName": "m",
                   "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}  # fmt: skip
        sagemaker.create_endpoint_config(EndpointConfigName="c", ProductionVariants=[variant])
        sagemaker.create_endpoint(EndpointName="e", EndpointConfigName="c")
        sagemaker.get_waiter("endpoint_in_service").wait(
            EndpointName="e", WaiterConfig={"Delay": 0.5, "MaxAttempts": 120}
        )
        load = ["taskset", "-c", "1", str(HERE / ".venv/bin/endpointlab"), "load",
                "--endpoint", "e", "--clients", str(args.clients), "--duration",
                str(args.seconds), "--retries", "0", "--no-progress", "--invoke-args",
                str(archive.parent / "invoke_args.jsonl"),
                "--out", str(work / "r.csv")]  # fmt: skip
        subprocess.run(load, env=env, capture_output=True, check=True)  # warm-up
        before = tree_cpu_s(serve_pid)
        out = subprocess.run(load, env=env, capture_output=True, text=True, check=True).stdout
        used = tree_cpu_s(serve_pid) - before
        served = int(re.search(r"successes\s+(\d+)", out).group(1))  # type: ignore[union-attr]
        return [served, used * 1e6 / served]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=Path, required=True, help="Another checkout.")
    parser.add_argument("--rounds", type=int, default=3, help="Runs of each, alternated.")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=6)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="server-cpu-"))
    archive = build_examples(work / "examples", ["rtb-ctr"])[0].archive
    figures: dict[str, list[list[float]]] = {"baseline": [], "this checkout": []}
    for round_ in range(args.rounds):
        for label, checkout in (("baseline", args.baseline.resolve()), ("this checkout", HERE)):
            run_dir = work / f"{label.replace(' ', '-')}-{round_}"
            run_dir.mkdir()
            figures[label].append(one_checkout(checkout, archive, run_dir, args))
    print(f"rtb-ctr, 1 worker on core 0, {args.clients} closed-loop clients on core 1, "
          f"{args.seconds} s per run, {args.rounds} runs each, alternated")  # fmt: skip
    for label, runs in figures.items():
        served = statistics.median(r[0] for r in runs)
        cpu = statistics.median(r[1] for r in runs)
        every = ", ".join(f"{r[0]:.0f}/{r[1]:.0f}" for r in runs)
        print(f"{label:14} median {served / args.seconds:7.1f} req/s, {cpu:6.0f} us server CPU "
              f"per request   (requests/us per run: {every})")  # fmt: skip


if __name__ == "__main__":
    main()

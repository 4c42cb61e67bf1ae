"""Does a projection predict an emulator run it has not seen? Measured side by side in one run.

Starts ``endpointlab serve`` (pinned to core 0) with a model whose service does not use the CPU
(it sleeps an exponential time, mean 50 ms, and 1 s to load), so the shared host does not
distort what it measures, and for each configuration:
1. an earlier run: ``endpointlab load`` at a low Poisson rate (the distributions are learnt
   from it, as a bench run's records would give them);
2. the unseen run: a fresh endpoint of the same configuration under heavier Poisson traffic,
   measured with ``endpointlab load`` (no retries, so throttles show as they are);
3. ``endpointlab project`` of the earlier run onto the unseen run's traffic.
It prints p50, p99, the throttle rate, the mean instance count and the cost per million
requests of the measured and the projected unseen run, and whether each is within the issue's
bounds (p50 10%, p99 15%, throttles 1 point, instances 5%, cost 2%). The load client runs on
core 1. Loaded machines shift both sides; say so with the figures.

    uv run python benchmarks/projection_accuracy.py [--seconds 180] [--only NAME] [--keep DIR]

Shorter runs learn too few service times: at 60 s the throttle rate alone moves by more than
the 1-point bound from one earlier run to the next.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from _serve import serve
from endpointlab.analysis import finish
from endpointlab.analysis.summary import summarise_phase
from endpointlab.models.artifact import pack_model_dir
from endpointlab.prices import load_prices
from endpointlab.results.run_result import (
    ConfigurationResult,
    Environment,
    Objective,
    RunResult,
    TimelinePoint,
    Traffic,
    load_run_result,
    save_run_result,
)
from endpointlab.results.store import read_records

SERVER_CORE, CLIENT_CORE = "0", "1"
MODEL = """
import random
import time


def model_fn(model_dir):
    time.sleep(1.0)
    return random.Random()


def transform_fn(model, data, content_type, accept, context):
    time.sleep(model.expovariate(1 / 0.05))
    return b"ok", "text/plain"
"""
# name, kind, variant, earlier rate, unseen rate
CONFIGS = [
    ("serverless-mc4", "serverless",
     {"ServerlessConfig": {"MemorySizeInMB": 2048, "MaxConcurrency": 4}}, 10.0, 60.0),
    ("realtime-2-workers", "realtime",
     {"InstanceType": "ml.m5.large", "InitialInstanceCount": 1}, 5.0, 30.0),
]  # fmt: skip
Figures = dict[str, float | None]
BOUNDS = {"p50": 0.10, "p99": 0.15, "throttles": 0.01, "instances": 0.05, "cost": 0.02}


def client(url: str, service: str = "sagemaker") -> Any:
    return boto3.client(
        service, endpoint_url=url, region_name="us-east-1", aws_access_key_id="bench",
        aws_secret_access_key="bench", config=Config(retries={"total_max_attempts": 1}),
    )  # fmt: skip


def deploy(url: str, name: str, archive: Path, variant: dict[str, Any]) -> None:
    sagemaker = client(url)
    environment = {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"} if "InstanceType" in variant else {}
    sagemaker.create_model(
        ModelName=name,
        PrimaryContainer={"Image": "x", "ModelDataUrl": str(archive), "Environment": environment},
    )
    sagemaker.create_endpoint_config(
        EndpointConfigName=name,
        ProductionVariants=[{"VariantName": "AllTraffic", "ModelName": name, **variant}],
    )
    sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=name)
    sagemaker.get_waiter("endpoint_in_service").wait(
        EndpointName=name, WaiterConfig={"Delay": 0.5, "MaxAttempts": 600}
    )


def load(url: str, endpoint: str, rate: float, seconds: int, seed: int, out: Path) -> None:
    args = out.with_suffix(".jsonl")
    args.write_text(json.dumps({"Body": "x", "ContentType": "text/plain"}) + "\n")
    environment = {**os.environ, "AWS_ENDPOINT_URL": url, "AWS_ACCESS_KEY_ID": "bench",
                   "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}  # fmt: skip
    command = ["taskset", "-c", CLIENT_CORE, sys.executable, "-m", "endpointlab", "load"]
    command += ["--endpoint", endpoint, "--rate", str(rate), "--duration", f"{seconds}s"]
    command += ["--arrival", "poisson", "--seed", str(seed), "--max-attempts", "1"]
    command += ["--invoke-args", str(args), "--out", str(out), "--no-progress"]
    subprocess.run(command, env=environment, check=True, stdout=subprocess.DEVNULL)


def model_latency(url: str, endpoint: str) -> list[tuple[float, float]]:
    """The endpoint's ModelLatency averages per minute (microseconds), as bench pulls them."""
    cloudwatch = client(url, "cloudwatch")
    deadline = time.monotonic() + 60
    while True:
        answer = cloudwatch.get_metric_statistics(
            Namespace="AWS/SageMaker", MetricName="ModelLatency",
            Dimensions=[{"Name": "EndpointName", "Value": endpoint},
                        {"Name": "VariantName", "Value": "AllTraffic"}],
            StartTime=time.time() - 3600, EndTime=time.time() + 60, Period=60,
            Statistics=["Average", "SampleCount"],
        )  # fmt: skip
        points = answer["Datapoints"]
        if points or time.monotonic() > deadline:
            break
        time.sleep(1)  # the emulator publishes its metrics in the background
    # Minutes weighted by their requests, spread back into one average per request.
    return [
        (p["Timestamp"].timestamp(), p["Average"])
        for p in points
        for _ in range(int(p["SampleCount"]))
    ]


def run_result(run_id: str, configs: list[ConfigurationResult], rate: float) -> RunResult:
    return RunResult(
        run_id=run_id,
        plan_name="projection-accuracy",
        created_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        environment=Environment(
            endpointlab_version="dev",
            python=sys.version.split()[0],
            platform=sys.platform,
            machine=os.uname().machine,
            cpu_count=os.cpu_count() or 1,
        ),
        objective=Objective(latency_ms=1000.0, max_error_rate=0.5),
        traffic=Traffic(requests_per_month=rate * 730 * 3600, peak_rps=rate),
    ).model_copy(update={"configurations": configs})


def figures(config: ConfigurationResult) -> Figures:
    total = config.total
    assert total is not None
    instances = [p.instances for p in config.timeline if p.instances is not None]
    return {
        "p50": total.latency.p50,
        "p99": total.latency.p99,
        "throttles": total.throttled_requests / total.requests if total.requests else None,
        "instances": sum(instances) / len(instances) if instances else None,
        "cost": config.cost.per_million_usd if config.cost else None,
    }


def compare(url: str, archive: Path, work: Path, config: tuple[Any, ...], seconds: int) -> None:
    name, kind, variant, slow, fast = config
    settings = dict(variant.get("ServerlessConfig", variant))
    earlier_dir, unseen = work / f"earlier-{name}", work / f"unseen-{name}.parquet"
    (earlier_dir / "records").mkdir(parents=True)
    deploy(url, f"{name}-a", archive, dict(variant))
    load(url, f"{name}-a", slow, seconds, 1, earlier_dir / "records" / f"{name}.parquet")
    deploy(url, f"{name}-b", archive, dict(variant))
    load(url, f"{name}-b", fast, seconds, 2, unseen)
    earlier = ConfigurationResult(
        name=name, kind=kind, settings=settings, records=[f"records/{name}.parquet"],
        metrics={"ModelLatency:Average": model_latency(url, f"{name}-a")},
    )  # fmt: skip
    # Both runs expect the unseen run's traffic in production: costs are priced at it.
    save_run_result(run_result(f"earlier-{name}", [earlier], fast), earlier_dir)
    records = read_records(unseen)
    # A real-time variant here keeps its one instance: its timeline says so for the cost.
    timeline = [] if kind == "serverless" else [TimelinePoint(t=0.0, instances=1.0)]
    measured = ConfigurationResult(
        name=name, kind=kind, settings=settings, total=summarise_phase("total", records),
        timeline=timeline,
    )  # fmt: skip
    unseen_run = finish(run_result("unseen", [measured], fast), load_prices())
    out = work / f"projected-{name}"
    command = [sys.executable, "-m", "endpointlab", "project", str(earlier_dir), "--rate",
               str(fast), "--duration", f"{seconds}s", "--retry-mode", "none", "--seed", "2",
               "--out", str(out)]  # fmt: skip
    if kind == "realtime":
        command += ["--set", "Workers=2"]  # as SAGEMAKER_MODEL_SERVER_WORKERS in deploy()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    projected = load_run_result(out).configurations[0]
    report(name, figures(unseen_run.configurations[0]), figures(projected))


def report(
    name: str, measured: dict[str, float | None], projected: dict[str, float | None]
) -> None:
    print(f"{name}: measured vs projected, unseen traffic")
    for key, bound in BOUNDS.items():
        want, got = measured[key], projected[key]
        if want is None or got is None:
            print(f"   {key:10} {want!s:>12} {got!s:>12}")
            continue
        error = abs(got - want) if key == "throttles" else abs(got - want) / abs(want or 1)
        verdict = "ok" if error <= bound else "OUTSIDE"
        print(f"   {key:10} {want:12.4g} {got:12.4g}  off by {error:.3f} (bound {bound}) {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=180)
    parser.add_argument("--only", choices=[c[0] for c in CONFIGS], default=None)
    parser.add_argument("--keep", type=Path, default=None, help="Keep the runs in this new dir.")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="projection-accuracy-") as tmp:
        work = args.keep or Path(tmp)
        (work / "model" / "code").mkdir(parents=True)  # a --keep dir must be new
        (work / "model" / "code" / "inference.py").write_text(textwrap.dedent(MODEL))
        archive = pack_model_dir(work / "model", work / "model.tar.gz")
        with serve(work / "data", "--model-root", str(work), core=int(SERVER_CORE)) as serving:
            url = serving.url
            for config in CONFIGS:
                if args.only in (None, config[0]):
                    compare(url, archive, work, config, args.seconds)


if __name__ == "__main__":
    main()

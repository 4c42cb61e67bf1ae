"""The bench runner against the session's emulator: whatever happens (Ctrl-C mid-phase, an error,
a failed deployment) it tears down what it created, as ListEndpoints, ListEndpointConfigs,
ListModels and the process table show, and keeps what it measured."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest

from endpointlab.bench.execute import Runner, resource_prefix
from endpointlab.bench.measure import INTERRUPTED, RunSettings
from endpointlab.bench.plan import parse_plan
from endpointlab.bench.rundir import environment
from endpointlab.bench.targets import local_connection
from endpointlab.loadgen.client import Invocation
from endpointlab.results import read_records
from endpointlab.results.run_result import load_run_result
from tests.api.support import still_running

PLAN = """\
name: teardown
model: {{artifact: {artifact}}}
objective: {{latency_ms: 1000}}
configurations:
  - name: rt
    kind: realtime
    instance_type: ml.c5.large
    autoscaling: {{max_instances: 2, target_invocations_per_instance: 1000}}
phases:
  - {{name: first, clients: 1, duration: 0.5}}
  - {{name: second, clients: 2, duration: 2}}
"""


def runner(tmp_path: Path, url: str, artifact: Path, say: Callable[[str], None]) -> Runner:
    plan = parse_plan(PLAN.format(artifact=artifact))
    invocations = [Invocation.from_args({"Body": "hello", "ContentType": "text/plain"})]
    return Runner(
        plan,
        local_connection(url, "instant"),
        tmp_path / "run",
        invocations,
        str(artifact),
        RunSettings(poll_s=0.2, deploy_timeout_s=60.0),
        say,
    )


def left_of(sagemaker: Any, prefix: str) -> list[str]:
    scaling = boto3.client(
        "application-autoscaling",
        endpoint_url=sagemaker.meta.endpoint_url,
        region_name="us-east-1",
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )
    targets = scaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    policies = scaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    return [
        *(t["ResourceId"] for t in targets if prefix in t["ResourceId"]),
        *(p["PolicyName"] for p in policies if prefix in p["ResourceId"]),
        *(e["EndpointName"] for e in sagemaker.list_endpoints(NameContains=prefix)["Endpoints"]),
        *(
            c["EndpointConfigName"]
            for c in sagemaker.list_endpoint_configs(NameContains=prefix)["EndpointConfigs"]
        ),
        *(m["ModelName"] for m in sagemaker.list_models(NameContains=prefix)["Models"]),
    ]


def worker_pids(runtime: Any, endpoint: str) -> set[int]:
    answers = [
        runtime.invoke_endpoint(EndpointName=endpoint, Body=b"hello", ContentType="text/plain")
        for _ in range(4)
    ]
    return {json.loads(answer["Body"].read())["pid"] for answer in answers}


def test_ctrl_c_in_a_phase_tears_down_keeps_the_records_and_resumes(
    tmp_path: Path, emulator_url: str, probe: Path, sagemaker: Any
) -> None:
    registered: list[str] = []

    def say(text: str) -> None:
        if "phase second (" in text:  # Ctrl-C half a second into the second phase
            registered.extend(left_of(sagemaker, run.prefix))
            threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT)).start()

    run = runner(tmp_path, emulator_url, probe, say)
    env = environment("local", "us-east-1", "instant")
    with pytest.raises(KeyboardInterrupt):
        run.run(env)
    endpoint = f"endpoint/{run.prefix}-rt/variant/AllTraffic"
    assert {endpoint, "endpointlab-invocations"} <= set(registered)  # autoscaling was set up
    assert left_of(sagemaker, resource_prefix(run.run_dir)) == []
    saved = load_run_result(run.run_dir).configuration("rt")
    assert saved.status == "stopped" and saved.status_reason == INTERRUPTED
    records = read_records(run.run_dir / saved.records[0])
    assert {r.phase for r in records} == {"first", "second"}  # the cut phase's records too
    pids = {json.loads(r.body_response)["pid"] for r in records if r.ok}
    assert pids and still_running(pids) == []

    # --resume runs the interrupted configuration again, whole, under the same names.
    resumed = runner(tmp_path, emulator_url, probe, lambda text: None)
    assert resumed.prefix == run.prefix
    again = resumed.run(env, load_run_result(run.run_dir)).configuration("rt")
    assert (again.status, again.status_reason) == ("completed", "")
    assert [p.name for p in again.phases] == ["first", "second"]
    assert again.timeline and {p.instances for p in again.timeline} == {1.0}  # polled
    assert load_run_result(run.run_dir).configuration("rt") == again
    assert left_of(sagemaker, run.prefix) == []


def test_an_error_mid_run_and_a_failed_deployment_still_tear_down(
    tmp_path: Path, emulator_url: str, probe: Path, sagemaker: Any, runtime: Any
) -> None:
    pids: set[int] = set()
    run: Runner

    def say(text: str) -> None:
        if "phase second (" in text:
            pids.update(worker_pids(runtime, run.prefix + "-rt"))
            raise RuntimeError("something broke mid-run")

    run = runner(tmp_path / "error", emulator_url, probe, say)
    env = environment("local", "us-east-1", "instant")
    with pytest.raises(RuntimeError, match="something broke"):
        run.run(env)
    assert left_of(sagemaker, run.prefix) == []
    assert pids and still_running(pids) == []

    missing = tmp_path / "no-such-model.tar.gz"
    failing = runner(tmp_path / "failed", emulator_url, missing, lambda text: None)
    result = failing.run(env)
    assert result.configurations[0].status == "failed"
    assert "rt" in result.configurations[0].status_reason
    assert left_of(sagemaker, failing.prefix) == []

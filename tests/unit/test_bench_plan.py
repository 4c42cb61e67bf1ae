"""Benchmark plans: YAML validated with one-line messages naming the field and its line, the
built-in plans, and the plan a run directory keeps."""

from __future__ import annotations

from pathlib import Path

import pytest

from endpointlab.bench.builtin import BUILDERS, builtin_plan
from endpointlab.bench.plan import PlanError, load_plan, parse_plan, plan_yaml

GOOD = """\
name: small
model:
  artifact: model.tar.gz
objective:
  latency_ms: 100
configurations:
  - name: sl-1024
    kind: serverless
    memory_mb: 1024
  - name: c5
    kind: realtime
    instance_type: ml.c5.large
phases:
  - name: steady
    rate: [1, 5]
    duration: 10s
  - name: burst
    requests: 4
"""


def broken(line: int, text: str) -> str:
    """GOOD with its line ``line`` (1-based) replaced by ``text`` (several lines allowed)."""
    lines = GOOD.splitlines()
    lines[line - 1] = text
    return "\n".join(lines) + "\n"


def test_a_good_plan_parses_into_typed_phases_and_configurations() -> None:
    plan = parse_plan(GOOD)
    assert [c.kind for c in plan.configurations] == ["serverless", "realtime"]
    steady, burst = plan.phases
    assert steady.rate == (1.0, 5.0) and steady.duration == 10.0
    assert burst.requests == 4 and burst.duration is None
    assert plan.target == "local" and plan.objective.percentile == 99.0


@pytest.mark.parametrize(
    ("line", "text", "expected"),
    [
        (9, "    memory_mb: 1000", "plan line 9: configurations.0.memory_mb: must be one of"),
        (12, "    instance_type: c5.large", "plan line 12: configurations.1.instance_type:"),
        (15, "    rate: [1, -5]", "plan line 15: phases.0.rate: "),
        (16, "    duration: soon", "plan line 16: phases.0.duration: 'soon' is not a duration"),
        (18, "    requests: 0", "plan line 18: phases.1.requests: "),
        (10, "  - name: c5\n    colour: blue", "plan line 11: configurations.1.colour: unknown"),
        (5, "  latency_ms: fast", "plan line 5: objective.latency_ms: "),
        (11, "    kind: batch", "plan line 11: configurations.1.kind: must be one of serverless"),
    ],
)
def test_a_bad_field_is_named_with_its_line(line: int, text: str, expected: str) -> None:
    with pytest.raises(PlanError) as caught:
        parse_plan(broken(line, text))
    assert str(caught.value).startswith(expected), str(caught.value)
    assert "\n" not in str(caught.value)


def test_a_missing_field_and_a_phase_without_a_shape_are_named() -> None:
    with pytest.raises(PlanError, match=r"^plan line 1: objective: required field missing$"):
        parse_plan(GOOD.replace("objective:\n  latency_ms: 100\n", ""))
    with pytest.raises(PlanError, match=r"line 17: phases.1: give exactly one of requests"):
        parse_plan(broken(18, "    think_time: 1"))
    with pytest.raises(PlanError, match=r"line 14: phases.0: rate needs a duration"):
        parse_plan(broken(16, ""))


def test_plan_wide_rules_name_the_configurations() -> None:
    twice = GOOD.replace("name: c5", "name: sl-1024")
    with pytest.raises(PlanError, match="configuration names repeat: sl-1024"):
        parse_plan(twice)
    realtime_per_concurrency = GOOD.replace("    rate: [1, 5]", "    clients_per_concurrency: 2")
    with pytest.raises(PlanError, match=r"clients_per_concurrency.*serverless.*c5"):
        parse_plan(realtime_per_concurrency)


def test_yaml_errors_and_unreadable_files_are_one_line(tmp_path: Path) -> None:
    with pytest.raises(PlanError, match=r"^plan line 3: mapping values are not allowed here$"):
        parse_plan("name: x\nmodel: a\n  artifact: b: c\n")
    with pytest.raises(PlanError, match=r"^plan: a plan is a YAML mapping"):
        parse_plan("- just\n- a list\n")
    with pytest.raises(PlanError, match=r"cannot read the plan .*missing.yaml"):
        load_plan(tmp_path / "missing.yaml")


def test_the_async_kind_is_accepted_ready_for_the_emulator() -> None:
    text = broken(12, "    instance_type: ml.c5.large").replace(
        "kind: realtime", "kind: async\n    min_instances: 0"
    )
    plan = parse_plan(text)
    assert plan.configurations[1].kind == "async"


@pytest.mark.parametrize("name", sorted(BUILDERS))
@pytest.mark.parametrize("quick", [True, False])
def test_builtin_plans_are_valid_and_round_trip(name: str, quick: bool) -> None:
    plan = builtin_plan(name, quick, {"artifact": "model.tar.gz"})
    assert parse_plan(plan_yaml(plan)) == plan
    seconds = sum(
        (p.duration or 0) + p.pause_before for c in plan.configurations for p in plan.phases_of(c)
    )
    # --quick keeps each plan's load to about a minute (deployments come on top); the async
    # plan queues bursts, sized by requests (40 quick, 500 full), not by time.
    if name == "async":
        assert [p.requests for p in plan.phases] == [40 if quick else 500]
    else:
        assert (seconds <= 60) if quick else (seconds > 60)


def test_the_compare_plan_searches_each_kind_under_the_same_traffic() -> None:
    plan = builtin_plan("compare", True, {"artifact": "model.tar.gz"})
    kinds = [
        (c.kind, getattr(c, "memory_mb", None) or getattr(c, "instance_type", None))
        for c in plan.configurations
    ]
    assert kinds == [
        ("serverless", 1024),
        ("serverless", 2048),
        ("realtime", "ml.t2.medium"),
        ("realtime", "ml.c5.large"),
    ]
    # MaxConcurrency covers the peak: 10/s, each request taking up to the objective's 250 ms
    assert {getattr(c, "max_concurrency", 3) for c in plan.configurations} == {3}
    assert all(c.phases is None for c in plan.configurations) and len(plan.phases) == 2

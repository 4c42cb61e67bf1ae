"""The built-in plans: ``serverless``, ``realtime``, ``async`` and ``compare``, each in a full
and a ``--quick`` version.

They load the bundled example model unless given another; the figures (memory sizes, instance
types, rates, durations) are the plans' choices, written out here as a plan file would be.
"""

from __future__ import annotations

import math
from typing import Any

from endpointlab.bench.plan import Plan

NAMES = ("serverless", "realtime", "compare", "async")
OBJECTIVE = {"percentile": 99, "latency_ms": 250, "max_error_rate": 0.01}
# Async requests are judged send to answer found in S3, queue and scale-from-zero included.
ASYNC_OBJECTIVE = {"percentile": 99, "latency_ms": 60_000, "max_error_rate": 0.01}
TRAFFIC = {"requests_per_month": 2_000_000, "peak_rps": 10}


def _serverless(quick: bool) -> dict[str, Any]:
    memories = (1024, 2048) if quick else (1024, 2048, 3072, 4096, 5120, 6144)
    concurrencies = (2, 4) if quick else (2, 5, 10)
    stability = {
        "name": "stability",
        "clients": 1,
        "duration": "6s" if quick else "60s",
    }
    concurrency = [
        {"name": f"x{k:g}", "clients_per_concurrency": k, "duration": "4s" if quick else "30s"}
        for k in ((1, 2) if quick else (1, 1.5, 2))
    ]
    return {
        "name": "serverless" + ("-quick" if quick else ""),
        "description": "Serverless: each memory size with MaxConcurrency 1 under sequential "
        "invocations (the first one cold), then the best memory size at several "
        "MaxConcurrency values driven by MaxConcurrency x 1, 1.5, 2 clients.",
        "provisioning": "aws",
        "configurations": [
            {
                "name": f"sl-{m}",
                "kind": "serverless",
                "memory_mb": m,
                "max_concurrency": 1,
                "phases": [stability],
            }
            for m in memories
        ]
        + [
            {
                "name": f"sl-best-c{c}",
                "kind": "serverless",
                "memory_mb": "best",
                "max_concurrency": c,
                "phases": concurrency,
            }
            for c in concurrencies
        ],
    }


def _realtime(quick: bool) -> dict[str, Any]:
    types = (
        ("ml.c5.large", "ml.m5.xlarge")
        if quick
        else ("ml.c5.large", "ml.m5.large", "ml.c5.xlarge", "ml.m5.xlarge")
    )
    rates = (5, 20, 50) if quick else (5, 10, 20, 40, 80, 160)
    return {
        "name": "realtime" + ("-quick" if quick else ""),
        "description": "Real-time: each instance type under a stepped open-loop load until the "
        "objective or the error rate breaks (the maximum sustained rate, latency there), then "
        "ml.c5.large under a target-tracking autoscaling policy and a ramp, on a compressed "
        "scaling clock.",
        "warmup": {"requests": 3},
        "configurations": [
            {
                "name": t.removeprefix("ml.").replace(".", "-"),
                "kind": "realtime",
                "instance_type": t,
                "instance_count": 1,
            }
            for t in types
        ]
        + [_autoscaled(quick)],
        "scaling_clock": SCALING_CLOCK[quick],
        "phases": [
            {
                "name": f"rate-{r}",
                "rate": r,
                "duration": "4s" if quick else "30s",
                "stop_on_objective": True,
            }
            for r in rates
        ],
    }


SCALING_CLOCK = {True: 60.0, False: 10.0}  # a 60 s alarm period lasts 1 s (quick) or 6 s


def _autoscaled(quick: bool) -> dict[str, Any]:
    """ml.c5.large from 1 to 4 instances, tracking 5 invocations a second per instance (the
    target is a sum over an alarm period, which the scaling clock shortens), under a ramp."""
    period_s = 60.0 / SCALING_CLOCK[quick]
    return {
        "name": "c5-large-autoscaled",
        "kind": "realtime",
        "instance_type": "ml.c5.large",
        "autoscaling": {
            "min_instances": 1,
            "max_instances": 4,
            "target_invocations_per_instance": 5 * period_s,
            "scale_in_cooldown": 300,
            "scale_out_cooldown": 5 * period_s,
        },
        "phases": [{"name": "ramp", "rate": [2, 20], "duration": "20s" if quick else "180s"}],
    }


def _compare(quick: bool) -> dict[str, Any]:
    duration = "5s" if quick else "60s"
    # MaxConcurrency that covers the peak: requests in flight at the peak rate if each took the
    # objective's latency (Little's law).
    concurrency = math.ceil(TRAFFIC["peak_rps"] * OBJECTIVE["latency_ms"] / 1e3)
    memories = (1024, 2048) if quick else (1024, 2048, 3072)
    types = (
        ("ml.t2.medium", "ml.c5.large") if quick else ("ml.t2.medium", "ml.c5.large", "ml.m5.large")
    )
    return {
        "name": "compare" + ("-quick" if quick else ""),
        "description": "The same traffic on a short search of each kind (serverless memory "
        "sizes at a MaxConcurrency that covers the peak, the cheapest instance types), ending "
        "in one recommendation between the best of each kind.",
        "warmup": {"requests": 3},
        "configurations": [
            {
                "name": f"serverless-{m}",
                "kind": "serverless",
                "memory_mb": m,
                "max_concurrency": concurrency,
            }
            for m in memories
        ]
        + [
            {
                "name": "realtime-" + t.removeprefix("ml.").replace(".", "-"),
                "kind": "realtime",
                "instance_type": t,
            }
            for t in types
        ],
        "phases": [
            {"name": "steady", "rate": 5, "duration": duration},
            {"name": "peak", "rate": 15, "duration": duration},
        ],
    }


def _async(quick: bool) -> dict[str, Any]:
    requests = 40 if quick else 500
    return {
        "name": "async" + ("-quick" if quick else ""),
        "description": f"Asynchronous: {requests} requests queued at once on an endpoint scaled "
        "to zero by AWS's recipe (target tracking on the backlog per instance, step scaling on "
        "HasBacklogWithoutCapacity), up to 1 or 2 instances: scale-from-zero time, drain time, "
        "backlog over time, requests lost to a 120 s deadline. The emulator's scaling clock "
        "runs 60x faster (alarm periods and cooldowns); instance starts are measured.",
        "scaling_clock": 60,
        "deadline": 120,
        "configurations": [
            {
                "name": f"async-c5-large-max{n}",
                "kind": "async",
                "instance_type": "ml.c5.large",
                "instance_count": n,
                "min_instances": 0,
                "max_concurrent_invocations_per_instance": 1,
            }
            for n in ((2,) if quick else (1, 2))
        ],
        "phases": [{"name": "queued", "requests": requests}],
    }


BUILDERS = {
    "serverless": _serverless,
    "realtime": _realtime,
    "async": _async,
    "compare": _compare,
}


def builtin_plan(name: str, quick: bool, model: dict[str, Any]) -> Plan:
    """The built-in plan ``name`` for ``model`` (a plan's ``model`` mapping)."""
    data = BUILDERS[name](quick)
    objective = ASYNC_OBJECTIVE if name == "async" else OBJECTIVE
    data.update(model=model, objective=objective, traffic=TRAFFIC)
    return Plan.model_validate(data)

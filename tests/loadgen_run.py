"""``python -m tests.loadgen_run URL OUT RATE SECONDS``: an open-loop run of the load engine in
its own process, for tests that kill it."""

from __future__ import annotations

import sys
from pathlib import Path

from endpointlab.loadgen.client import Invocation, RuntimeClient, Target
from endpointlab.loadgen.retries import RetrySettings
from endpointlab.loadgen.runner import Plan, run_blocking
from endpointlab.loadgen.shapes import OpenLoop
from endpointlab.loadgen.signing import Credentials
from endpointlab.results import RecordWriter

if __name__ == "__main__":
    url, out, rate, seconds = sys.argv[1], Path(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
    client = RuntimeClient(Target(url, "us-east-1", Credentials("t", "t")), "e", RetrySettings())
    invocation = Invocation.from_args({"Body": "1", "ContentType": "text/csv"})
    plan = Plan(OpenLoop.constant(rate, float(seconds)), [invocation])
    run_blocking(client, plan, RecordWriter(out))

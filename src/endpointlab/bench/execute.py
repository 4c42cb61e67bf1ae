"""The runner: each configuration of a plan in turn is deployed, warmed up, loaded phase by
phase, measured and torn down (bench/measure.py), whatever happens (an error, a failed
deployment, Ctrl-C).

The run result is saved after every configuration, so ``--resume`` continues where a run
stopped: configurations already done are kept, an interrupted one runs again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from endpointlab.bench import rundir
from endpointlab.bench.deploy import (
    names_for,
    settings_of,
)
from endpointlab.bench.measure import (
    INTERRUPTED,
    ConfigurationInterruptedError,
    Measurement,
    RunSettings,
    Say,
)
from endpointlab.bench.plan import BEST, Async, Plan, Realtime, Serverless
from endpointlab.bench.summary import meets
from endpointlab.bench.targets import Connection
from endpointlab.loadgen.client import Invocation
from endpointlab.results.run_result import (
    ConfigurationResult,
    Environment,
    RunResult,
    save_run_result,
)


def resource_prefix(run_dir: Path) -> str:
    """The prefix of every resource name of a run: from its directory's absolute path, so it is
    the same on --resume and differs between runs."""
    return "el-" + hashlib.sha256(str(run_dir.resolve()).encode()).hexdigest()[:8]


def _meets(config: ConfigurationResult, plan: Plan) -> bool:
    return config.total is not None and meets(config.total, plan.objective)


def best_memory(done: Sequence[ConfigurationResult], plan: Plan) -> int | None:
    """For ``memory_mb: best``: the smallest memory size measured that met the objective, else
    the one with the lowest p99; None before any serverless configuration completed. Only
    configurations that named their memory size count (not earlier 'best' ones)."""
    chosen = {
        c.name for c in plan.configurations if isinstance(c, Serverless) and c.memory_mb == BEST
    }
    measured = [
        c
        for c in done
        if c.kind == "serverless"
        and c.name not in chosen
        and c.status in ("completed", "stopped")
        and c.total
        and "MemorySizeInMB" in c.settings
    ]
    if not measured:
        return None
    meeting = [c for c in measured if _meets(c, plan)]
    if meeting:
        return min(int(c.settings["MemorySizeInMB"]) for c in meeting)
    ranked = sorted(
        measured,
        key=lambda c: (
            c.total.latency.p99 if c.total and c.total.latency.p99 is not None else float("inf")
        ),
    )
    return int(ranked[0].settings["MemorySizeInMB"])


class Runner:
    """Runs a plan's configurations against one connection, writing ``run_dir``."""

    def __init__(
        self,
        plan: Plan,
        connection: Connection,
        run_dir: Path,
        invocations: Sequence[Invocation],
        model_url: str | None,
        settings: RunSettings,
        say: Say,
    ) -> None:
        self.plan = plan
        self.connection = connection
        self.run_dir = run_dir
        self.invocations = invocations
        self.model_url = model_url
        self.settings = settings
        self.say = say
        self.prefix = resource_prefix(run_dir)

    def run(self, environment: Environment, previous: RunResult | None = None) -> RunResult:
        """Every configuration not already done in ``previous``; the run result (saved).
        KeyboardInterrupt propagates once the interrupted configuration is torn down and saved."""
        kept = {
            c.name: c
            for c in (previous.configurations if previous else [])
            if not c.status_reason.startswith(INTERRUPTED)
        }
        result = RunResult(
            run_id=self.run_dir.name,
            plan_name=self.plan.name,
            created_at=previous.created_at if previous else datetime.now(UTC).isoformat(),
            plan=self.plan.model_dump(mode="json"),
            environment=environment,
            objective=self.plan.objective,
            traffic=self.plan.traffic,
        )
        done: list[ConfigurationResult] = []
        total = len(self.plan.configurations)
        for index, config in enumerate(self.plan.configurations, start=1):
            if config.name in kept:
                self.say(
                    f"[{index}/{total}] {config.name}: kept from the earlier run "
                    f"({kept[config.name].status})\n"
                )
                done.append(kept[config.name])
                continue
            try:
                done.append(self._configuration(index, total, config, done))
            except ConfigurationInterruptedError as interruption:
                done.append(interruption.result)
                self._save(result, done)
                raise KeyboardInterrupt from None
            self._save(result, done)
        return self._save(result, done)

    def _save(self, result: RunResult, done: list[ConfigurationResult]) -> RunResult:
        current = result.model_copy(update={"configurations": list(done)})
        save_run_result(current, self.run_dir)
        rundir.write_summaries(self.run_dir, current)
        return current

    def _configuration(
        self,
        index: int,
        total: int,
        config: Serverless | Realtime | Async,
        done: list[ConfigurationResult],
    ) -> ConfigurationResult:
        head = f"[{index}/{total}] {config.name}"
        memory: int | None = None
        if isinstance(config, Serverless) and config.memory_mb == BEST:
            memory = best_memory(done, self.plan)
            if memory is None:
                self.say(f"{head}: skipped (no serverless configuration measured for 'best')\n")
                return ConfigurationResult(
                    name=config.name,
                    kind=config.kind,
                    status="skipped",
                    status_reason="memory_mb: best needs a measured serverless configuration",
                )
        settings = settings_of(config, memory)
        shown = ", ".join(f"{k} {v}" for k, v in settings.items())
        self.say(f"{head}: deploying {config.kind} ({shown})\n")
        names = names_for(self.prefix, config.name, self.plan.model.model_name)
        measured = Measurement(self, config, names, settings, memory)
        return measured.run(head)

"""One configuration of a bench run: deploy it, warm it up, load it phase by phase, tear it down
whatever happens (an error, a failed deployment, Ctrl-C, which cannot cut the teardown short),
check nothing is left, then pull its server metrics and summarise it.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from endpointlab.analysis import queueing
from endpointlab.analysis.host import entitled_vcpus, host_check
from endpointlab.analysis.summary import with_instances
from endpointlab.bench import asynchronous, rundir, scaling
from endpointlab.bench.deploy import (
    VARIANT,
    DeployError,
    Names,
    deploy,
    leftovers,
    teardown,
)
from endpointlab.bench.deploy import variant as make_variant
from endpointlab.bench.observe import InstancePoller, LoadSampler, pull_metrics
from endpointlab.bench.phases import Load, breaks_objective, load_of, pause, run_phase, summarise
from endpointlab.bench.plan import Async, Realtime, Serverless
from endpointlab.config import DEFAULT_SERVERLESS_MB_PER_VCPU
from endpointlab.loadgen.async_client import as_async
from endpointlab.loadgen.console import progress_line
from endpointlab.loadgen.runner import Progress
from endpointlab.loadgen.shapes import Burst
from endpointlab.results import RequestRecord
from endpointlab.results.run_result import (
    ConfigurationResult,
)

if TYPE_CHECKING:
    from endpointlab.bench.execute import Runner

INTERRUPTED = "interrupted (Ctrl-C)"
Say = Callable[[str], None]


@dataclass(frozen=True)
class RunSettings:
    """How the runner waits and reports."""

    poll_s: float = 1.0  # waiter delay
    deploy_timeout_s: float = 300.0
    serverless_mb_per_vcpu: float = DEFAULT_SERVERLESS_MB_PER_VCPU
    live: bool = False  # a live progress line (a terminal)


@contextmanager
def sheltered(say: Say) -> Iterator[None]:
    """Ctrl-C cannot cut a teardown short (it would leave resources behind)."""

    def refuse(signum: int, frame: object) -> None:
        say("still tearing down: wait, or deleted resources will be left behind\n")

    try:
        previous = signal.signal(signal.SIGINT, refuse)
    except ValueError:  # not the main thread: nothing to shelter from
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


class ConfigurationInterruptedError(Exception):
    """A configuration stopped by Ctrl-C, torn down; its partial result."""

    def __init__(self, result: ConfigurationResult) -> None:
        self.result = result


class Measurement:
    """One configuration's deploy-load-teardown."""

    def __init__(
        self,
        runner: Runner,
        config: Serverless | Realtime | Async,
        names: Names,
        settings: dict[str, Any],
        memory: int | None,
    ) -> None:
        self.runner = runner
        self.config = config
        self.names = names
        self.settings = settings
        self.memory = memory
        self.records: list[RequestRecord] = []
        self.loads: dict[str, Load] = {}
        self.status = "completed"
        self.reason = ""
        self.instances: list[tuple[float, float]] = []  # (Unix s, CurrentInstanceCount)
        self.scaled = ""  # the scalable target's resource id, once registered
        self.samples: list[tuple[float, int]] = []  # async: the watched instance counts
        self.warmed = 0  # async: warm-up requests answered (in the server's metrics too)

    def run(self, head: str) -> ConfigurationResult:
        runner, say = self.runner, self.runner.say
        started = time.time()
        interrupted = False
        load_samples: list[float] = []
        try:
            with LoadSampler() as sampler:
                try:
                    self._deploy_and_load(head, started)
                finally:
                    load_samples = sampler.samples
        except DeployError as error:
            self.status, self.reason = "failed", str(error)
            say(f"{head}: failed: {error}\n")
        except KeyboardInterrupt:
            interrupted = True
            self.status, self.reason = "stopped", INTERRUPTED
            say(f"\n{head}: {INTERRUPTED}: tearing down\n")
        finally:
            with sheltered(say):
                client = runner.connection.autoscaling
                problems = scaling.detach(client, self.scaled) if self.scaled else []
                if isinstance(self.config, Async):
                    problems += asynchronous.cleanup(runner.connection, self.names)
                problems += teardown(
                    runner.connection,
                    self.names,
                    poll_s=runner.settings.poll_s,
                    timeout_s=runner.settings.deploy_timeout_s,
                )
                try:
                    left = [
                        n
                        for n in leftovers(runner.connection, self.names.endpoint)
                        if n.split(" ")[-1] == self.names.endpoint
                    ]
                except (ClientError, BotoCoreError) as error:
                    left = [f"(cannot list what is left: {error})"]
                left += scaling.left(client, self.scaled) if self.scaled else []
        for problem in [*problems, *(f"{n} left behind" for n in left)]:
            say(f"{head}: WARNING: {problem}\n")
        ended = time.time()
        metrics, problem = pull_metrics(
            runner.connection.cloudwatch, self.names.endpoint, started, ended
        )
        if problem:
            say(f"{head}: {problem}\n")
        split = None
        if isinstance(self.config, Async) and self.records:
            split, problem = asynchronous.server_split(
                runner.connection.cloudwatch,
                self.names.endpoint,
                (started, ended),
                self.records,
                self.warmed,
            )
            say(f"{head}: {queueing.describe(split) if split else problem}\n")
        result = self._result(load_samples, metrics).model_copy(update={"async_split": split})
        if result.asynchronous:
            say(f"{head}: {asynchronous.describe(result.asynchronous)}\n")
        if interrupted:
            raise ConfigurationInterruptedError(result)
        return result

    def _deploy_and_load(self, head: str, started: float) -> None:
        runner, plan, say = self.runner, self.runner.plan, self.runner.say
        config = self.config
        async_config = None
        if isinstance(config, Async):
            asynchronous.create_bucket(runner.connection, self.names)
            async_config = asynchronous.inference_config(self.names, config)
        deploy(
            runner.connection,
            self.names,
            make_variant(config, self.names.model, self.memory),
            runner.model_url,
            plan.model.environment,
            poll_s=runner.settings.poll_s,
            timeout_s=runner.settings.deploy_timeout_s,
            async_config=async_config,
        )
        say(f"{head}: InService after {time.time() - started:.1f} s\n")
        if isinstance(config, Realtime) and config.autoscaling is not None:
            self.scaled = scaling.resource_id(self.names.endpoint, VARIANT)
            client = runner.connection.autoscaling
            if problem := scaling.attach(client, self.scaled, config.autoscaling):
                raise DeployError(problem)
        if not isinstance(config, Async):
            self._load(head)
            return
        asynchronous.scaling_policy(runner.connection, self.names, config)
        if config.min_instances == 0:
            say(f"{head}: waiting for the scaling policy to take it to zero instances\n")
            if not asynchronous.wait_for_instances(
                runner.connection,
                self.names.endpoint,
                0,
                runner.settings.deploy_timeout_s,
                min(runner.settings.poll_s, 0.25),
            ):
                raise DeployError(f"{self.names.endpoint} did not scale in to zero instances")
        with asynchronous.InstanceWatcher(runner.connection, self.names.endpoint) as watcher:
            try:
                self._load(head)
            finally:
                self.samples = watcher.samples

    def _load(self, head: str) -> None:
        runner, plan = self.runner, self.runner.plan
        for _ in range(plan.warmup.requests):
            got = self._phase("warm-up", Load(Burst(1), "warm-up", 1, None), scored=False)
            self.warmed += sum(r.async_outcome in ("Completed", "Failed") for r in got)
        if self.config.kind == "serverless" or isinstance(self.config, Async):
            self._phases(head)  # an async run's instances are watched around its load
            return
        every = runner.settings.poll_s
        with InstancePoller(runner.connection.sagemaker, self.names.endpoint, every) as poller:
            self.instances = poller.samples
            self._phases(head)

    def _phases(self, head: str) -> None:
        plan, say = self.runner.plan, self.runner.say
        for phase in plan.phases_of(self.config):
            if phase.pause_before:
                say(f"{head}: idle {phase.pause_before:g} s before {phase.name}\n")
                pause(phase.pause_before)
            load = load_of(phase, self.config)
            self.loads[phase.name] = load
            say(f"{head}: phase {phase.name} ({load.label})\n")
            got = self._phase(phase.name, load, scored=True)
            failed = sum(1 for r in got if not r.ok) / len(got) if got else 0.0
            broke = breaks_objective(got, plan.objective)
            say(
                f"{head}: phase {phase.name}: {len(got)} requests, {failed:.1%} failed"
                f"{', ' + broke if broke else ', meets the objective'}\n"
            )
            if failed > plan.stop_error_rate:
                self.status = "stopped"
                self.reason = (
                    f"phase {phase.name}: {failed:.0%} of requests failed, past the "
                    f"plan's stop_error_rate {plan.stop_error_rate:.0%}"
                )
                return
            if phase.stop_on_objective and broke:
                self.reason = f"phase {phase.name} broke the objective ({broke})"
                return

    def _phase(self, name: str, load: Load, *, scored: bool) -> list[RequestRecord]:
        runner = self.runner
        live = runner.settings.live and scored

        def report(progress: Progress) -> None:
            runner.say(f"\r  {self.config.name} {name}: {progress_line(progress)}")

        parts = runner.run_dir / rundir.RECORDS / f".{self.config.name}.{name}.parquet"
        config, client, invocations = self.config, None, runner.invocations
        deadline = runner.plan.deadline
        if isinstance(config, Async):
            client = asynchronous.client(
                runner.connection, self.names.endpoint, runner.plan.max_attempts
            )
            invocations = [as_async(i) for i in invocations]
            deadline = config.deadline or deadline
        try:
            return run_phase(
                runner.connection.runtime,
                self.names.endpoint,
                load,
                invocations,
                phase=name,
                into=self.records if scored else [],
                max_attempts=runner.plan.max_attempts,
                deadline_s=deadline,
                parts=parts,
                report=report if live else None,
                client=client,
            )
        finally:
            if live:
                runner.say("\n")

    def _result(
        self, load_samples: list[float], metrics: dict[str, list[tuple[float, float]]]
    ) -> ConfigurationResult:
        runner = self.runner
        files = rundir.write_records(runner.run_dir, self.config.name, self.records)
        rundir.write_metrics(runner.run_dir, self.config.name, metrics)
        summaries = summarise(self.records, self.loads, None, metrics)
        start = min((r.intended_at for r in self.records), default=0.0)
        points = with_instances(summaries.timeline, start, self.instances)
        figures = None
        if isinstance(self.config, Async) and self.records:
            points = asynchronous.with_instances_and_backlog(
                points, start, self.records, self.samples
            )
            figures = asynchronous.figures(self.records, self.samples)
        vcpus = entitled_vcpus(
            self.config.kind,
            self.settings,
            serverless_mb_per_vcpu=runner.settings.serverless_mb_per_vcpu,
        )
        host = None
        if vcpus is not None and runner.connection.kind == "local":
            host = host_check(vcpus, os.cpu_count() or 1, load_samples)
        return ConfigurationResult(
            name=self.config.name,
            kind=self.config.kind,
            settings=self.settings,
            status=self.status,  # type: ignore[arg-type]
            status_reason=self.reason,
            host=host,
            phases=summaries.phases,
            total=summaries.total,
            timeline=points,
            metrics=metrics,
            records=files,
            asynchronous=figures,
        )

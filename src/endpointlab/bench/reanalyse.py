"""Analyse a run again from its directory, without re-running anything: the records are read
back, summarised as a live run summarises them, priced and recommended afresh and saved.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from endpointlab.bench import rundir
from endpointlab.bench.phases import load_of, summarise
from endpointlab.bench.projection import measured_only
from endpointlab.results.run_result import RunResult, load_run_result, save_run_result


def analyse(result: RunResult, run_dir: Path) -> RunResult:
    """Save ``result`` as the run's result and its summaries."""
    save_run_result(result, run_dir)
    rundir.write_summaries(run_dir, result)
    return result


def reanalyse(run_dir: Path, finish: Callable[[RunResult], RunResult]) -> RunResult:
    """The run in ``run_dir`` summarised again from its records, then ``finish``ed and saved."""
    result = load_run_result(run_dir)
    plan = rundir.read_plan(run_dir)
    configs = {c.name: c for c in plan.configurations}
    redone = []
    for config in measured_only(result.configurations):
        records = rundir.read_configuration_records(run_dir, config)
        planned = configs.get(config.name)
        loads = {p.name: load_of(p, planned) for p in plan.phases_of(planned)} if planned else {}
        summaries = summarise(records, loads, None, config.metrics)
        # Instances and backlog were observed during the run (not in the records): kept.
        observed = {p.t: p for p in config.timeline}
        timeline = [
            p.model_copy(
                update={"instances": observed[p.t].instances, "backlog": observed[p.t].backlog}
            )
            if p.t in observed
            else p
            for p in summaries.timeline
        ]
        redone.append(
            config.model_copy(
                update={
                    "phases": summaries.phases,
                    "total": summaries.total,
                    "timeline": timeline,
                    "cost": None,
                    "meets_objective": None,
                }
            )
        )
    fresh = result.model_copy(
        update={"configurations": redone, "comparison": None, "recommendation": None}
    )
    return analyse(finish(fresh), run_dir)

"""``--processes N``: one plan spread over N forked processes, their records merged.

Each process runs its ``Share`` of the plan on its own event loop and streams its records to
``<out>.parts/worker-K.parquet.parts/``; all start at one ``time.monotonic()`` instant (the
clock every process shares), set once all are ready. The parent then reads every part.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import shutil
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from endpointlab.loadgen.client import RuntimeClient
from endpointlab.loadgen.runner import Plan, Share, run_blocking
from endpointlab.results import RecordWriter, RequestRecord, read_records
from endpointlab.results.store import parts_dir

# Time between the last process reporting ready and the shared start.
START_MARGIN_S = 0.2
READY_TIMEOUT_S = 120.0
# After Ctrl-C, how long workers get to stop on their own before the signal is passed on.
INTERRUPT_GRACE_S = 1.0


class ProcessesError(Exception):
    """A worker process failed; the message says which and how."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C ended a multi-process run early; ``records`` holds what was recorded."""

    def __init__(self, records: list[RequestRecord]) -> None:
        super().__init__()
        self.records = records


def run_in_processes(
    make_client: Callable[[], RuntimeClient], plan: Plan, out: Path, processes: int
) -> list[RequestRecord]:
    """Run ``plan`` in ``processes`` forked processes; every record, in execution order."""
    if processes < 1:
        raise ValueError("--processes must be at least 1")
    context = multiprocessing.get_context("fork")
    root = parts_dir(out)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    plan = replace(plan, wall_offset=time.time() - time.monotonic())
    ready = context.Barrier(processes + 1)
    start = context.Value("d", 0.0)
    workers = [
        context.Process(
            target=_work,
            args=(make_client, replace(plan, share=Share(k, processes)), root, k, ready, start),
            name=f"endpointlab-load-{k}",
        )
        for k in range(processes)
    ]
    for worker in workers:
        worker.start()
    interrupted = False
    try:
        ready.wait(READY_TIMEOUT_S)
        start.value = time.monotonic() + START_MARGIN_S
        ready.wait(READY_TIMEOUT_S)
        for worker in workers:
            worker.join()
    except KeyboardInterrupt:
        # From a terminal the workers got the signal too; otherwise pass it on. Either way
        # they stop, flush what they recorded and exit.
        for worker in workers:
            worker.join(INTERRUPT_GRACE_S)
        for worker in workers:
            if worker.is_alive() and worker.pid is not None:
                os.kill(worker.pid, signal.SIGINT)
        for worker in workers:
            worker.join()
        interrupted = True
    failed = [w for w in workers if w.exitcode not in (0, None)]
    records = read_records(root)
    shutil.rmtree(root)
    if failed:
        codes = ", ".join(f"{w.name} exited {w.exitcode}" for w in failed)
        raise ProcessesError(f"load processes failed ({codes}); {len(records)} records kept")
    if interrupted:
        raise Interrupted(records)
    return records


def _work(
    make_client: Callable[[], RuntimeClient],
    plan: Plan,
    root: Path,
    slot: int,
    ready: Any,
    start: Any,
) -> None:
    client = make_client()
    writer = RecordWriter(root / f"worker-{slot}.parquet")
    ready.wait(READY_TIMEOUT_S)
    ready.wait(READY_TIMEOUT_S)
    with contextlib.suppress(KeyboardInterrupt):
        run_blocking(client, replace(plan, start_at=start.value), writer)

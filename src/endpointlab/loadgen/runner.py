"""Runs a load shape against an endpoint on one asyncio loop and records every request.

Burst, closed-loop and open-loop drivers share ``_Run.send``, which stamps each request with
its intended and actual send times, calls the runtime client and hands a ``RequestRecord`` to
the writer; a background task flushes the writer to disk every ``FLUSH_INTERVAL_S``. Open-loop
latency runs from the intended send time, so a stalled endpoint cannot hide queueing.
"""

from __future__ import annotations

import asyncio
import itertools
import resource
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import uvloop

from endpointlab.loadgen.client import COLD_START_HEADER, VARIANT_HEADER, Invocation, RuntimeClient
from endpointlab.loadgen.shapes import Burst, ClosedLoop, OpenLoop, schedule
from endpointlab.results import RecordWriter, RequestRecord, percentile

FLUSH_INTERVAL_S = 0.5
PROGRESS_INTERVAL_S = 1.0


@dataclass(frozen=True)
class Progress:
    """A live view of the run: totals so far and the p99 latency (ms) of the last interval."""

    elapsed_s: float
    completed: int
    errors: int
    throttled: int
    in_flight: int
    recent_rate: float
    recent_p99_ms: float


@dataclass(frozen=True)
class Share:
    """This process's part of a plan that ``of`` processes run together: clients in a contiguous
    block, every ``of``-th open-loop send, execution numbers ``slot + 1`` apart by ``of``."""

    slot: int = 0
    of: int = 1

    def clients(self, total: int) -> range:
        per, extra = divmod(total, self.of)
        first = self.slot * per + min(self.slot, extra)
        return range(first, first + per + (1 if self.slot < extra else 0))


@dataclass(frozen=True)
class Plan:
    shape: Burst | ClosedLoop | OpenLoop
    invocations: Sequence[Invocation]
    deadline_s: float | None = None
    share: Share = Share()
    start_at: float | None = None  # a time.monotonic() instant shared by the processes
    wall_offset: float | None = None  # Unix time - monotonic time, shared by the processes


@dataclass
class _Counters:
    completed: int = 0
    errors: int = 0
    throttled: int = 0
    window: list[float] = field(default_factory=list)


def raise_open_file_limit() -> None:
    """Thousands of clients need thousands of sockets: lift the soft limit to the hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class _Run:
    def __init__(self, client: RuntimeClient, plan: Plan, writer: RecordWriter) -> None:
        self.client = client
        self.plan = plan
        self.writer = writer
        self.numbers = itertools.count(plan.share.slot + 1, plan.share.of)
        self.counters = _Counters()
        self.in_flight = 0
        # Monotonic instants become Unix times through one offset taken at the start.
        self.wall_offset: float = (
            plan.wall_offset if plan.wall_offset is not None else time.time() - time.monotonic()
        )

    def start(self) -> float:
        """When the shape begins: the instant shared by every process, else now."""
        return self.plan.start_at if self.plan.start_at is not None else time.monotonic()

    async def send(self, client_id: int, intended: float, phase: str) -> float:
        """One logical request; returns the monotonic instant it finished."""
        number = next(self.numbers)
        invocation = self.plan.invocations[(number - 1) % len(self.plan.invocations)]
        self.in_flight += 1
        sent = time.monotonic()
        deadline = sent + self.plan.deadline_s if self.plan.deadline_s is not None else None
        try:
            result = await self.client.invoke(invocation, deadline)
        finally:
            self.in_flight -= 1
        done = time.monotonic()
        cold = result.headers.get(COLD_START_HEADER)
        body = result.body.decode("utf-8", "replace") if result.ok else result.message
        record = RequestRecord(
            execution_number=number,
            client_id=client_id,
            status_response=result.status,
            body_response=body,
            elapsed_time=done - sent,
            current_date=datetime.fromtimestamp(done + self.wall_offset, UTC).isoformat(),
            intended_at=intended + self.wall_offset,
            sent_at=sent + self.wall_offset,
            latency_ms=(done - intended) * 1e3,
            service_ms=(done - sent) * 1e3,
            attempts=result.attempts,
            error_code=result.error_code,
            throttled=result.throttled,
            cold_start=True if cold is not None else None,
            variant=result.headers.get(VARIANT_HEADER, ""),
            phase=phase,
            request_bytes=len(invocation.body),
            response_bytes=len(result.body),
            throttled_attempts=result.throttled_attempts,
            cold_start_ms=_float_or_none(cold),
            submit_ms=result.submit_ms,
            output_ms=result.output_ms,
            async_outcome=result.async_outcome,
        )
        self.writer.add(record)
        counters = self.counters
        counters.completed += 1
        counters.errors += not result.ok
        counters.throttled += result.throttled
        if result.ok:
            counters.window.append(record.latency_ms)
        return done

    async def burst(self, shape: Burst) -> None:
        start = self.start()
        clients = self.plan.share.clients(shape.requests)
        await asyncio.gather(*(self.send(i, start, "") for i in clients))

    async def closed(self, shape: ClosedLoop) -> None:
        end = self.start() + shape.duration_s

        async def client(client_id: int) -> None:
            intended = time.monotonic()
            while intended < end:
                finished = await self.send(client_id, intended, "")
                if shape.think_s:
                    await asyncio.sleep(shape.think_s)
                intended = max(time.monotonic(), finished + shape.think_s)

        await asyncio.gather(*(client(i) for i in self.plan.share.clients(shape.clients)))

    async def open(self, shape: OpenLoop) -> None:
        start = self.start()
        tasks: set[asyncio.Task[float]] = set()
        share = self.plan.share
        for index, planned in enumerate(schedule(shape)):
            if index % share.of != share.slot:
                continue
            intended = start + planned.at
            # uvloop's timers tick in milliseconds and may wake early: wait until really due.
            while (delay := intended - time.monotonic()) > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(self.send(index, intended, planned.phase))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
        if tasks:
            await asyncio.gather(*tasks)

    async def flusher(self) -> None:
        while True:
            await asyncio.sleep(FLUSH_INTERVAL_S)
            await asyncio.to_thread(self.writer.write, self.writer.take())

    async def reporter(self, report: Callable[[Progress], None], start: float) -> None:
        last_completed = 0
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL_S)
            window = sorted(self.counters.window)
            self.counters.window = []
            completed = self.counters.completed
            report(
                Progress(
                    elapsed_s=time.monotonic() - start,
                    completed=completed,
                    errors=self.counters.errors,
                    throttled=self.counters.throttled,
                    in_flight=self.in_flight,
                    recent_rate=(completed - last_completed) / PROGRESS_INTERVAL_S,
                    recent_p99_ms=percentile(window, 99.0),
                )
            )
            last_completed = completed


async def run(
    client: RuntimeClient,
    plan: Plan,
    writer: RecordWriter,
    report: Callable[[Progress], None] | None = None,
) -> None:
    """Drive ``plan`` through ``client``; every record goes to ``writer`` (flushed as it goes)."""
    raise_open_file_limit()
    state = _Run(client, plan, writer)
    background = [asyncio.create_task(state.flusher())]
    if report is not None:
        background.append(asyncio.create_task(state.reporter(report, time.monotonic())))
    try:
        if plan.start_at is not None:
            while (wait := plan.start_at - time.monotonic()) > 0:
                await asyncio.sleep(wait)
        shape = plan.shape
        if isinstance(shape, Burst):
            await state.burst(shape)
        elif isinstance(shape, ClosedLoop):
            await state.closed(shape)
        else:
            await state.open(shape)
    finally:
        for task in background:
            task.cancel()
        await asyncio.gather(*background, return_exceptions=True)
        writer.flush()
        client.close()


def _float_or_none(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def run_blocking(
    client: RuntimeClient,
    plan: Plan,
    writer: RecordWriter,
    report: Callable[[Progress], None] | None = None,
) -> None:
    """``run`` on a fresh uvloop event loop (Ctrl-C stops it; what was recorded is kept)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(run(client, plan, writer, report))

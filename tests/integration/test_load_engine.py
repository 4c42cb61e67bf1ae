"""The load engine against a local server whose behaviour is known: throughput, send times,
stalls, retries counted as attempts, deadlines and transport failures."""

from __future__ import annotations

import contextlib
import functools
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from endpointlab.loadgen.client import Invocation, RuntimeClient, Target
from endpointlab.loadgen.processes import run_in_processes
from endpointlab.loadgen.retries import RetryMode, RetrySettings
from endpointlab.loadgen.runner import Plan, run_blocking
from endpointlab.loadgen.shapes import Burst, ClosedLoop, OpenLoop, schedule
from endpointlab.loadgen.signing import Credentials
from endpointlab.results import RecordWriter, RequestRecord, percentile, read_records, summarize
from endpointlab.results.store import parts_dir
from tests.loadgen_server import Behaviour, LocalServer

INVOCATION = Invocation.from_args({"Body": '{"x": 1}', "ContentType": "application/json"})


@contextlib.contextmanager
def serving(**behaviour: Any) -> Iterator[LocalServer]:
    local = LocalServer(Behaviour(**behaviour))
    local.start()
    try:
        yield local
    finally:
        local.stop()


def run_shape(
    url: str,
    shape: Burst | ClosedLoop | OpenLoop,
    out: Path,
    retry: RetrySettings | None = None,
    deadline_s: float | None = None,
    read_timeout: float = 60.0,
) -> list[RequestRecord]:
    target = Target(url, "us-east-1", Credentials("test", "test"))
    client = RuntimeClient(
        target, "probe", retry or RetrySettings(RetryMode.STANDARD), read_timeout=read_timeout
    )
    writer = RecordWriter(out / "records.parquet")
    run_blocking(client, Plan(shape, [INVOCATION], deadline_s), writer)
    return writer.close()


def test_closed_loop_throughput_is_clients_over_service_time(tmp_path: Path) -> None:
    with serving(delay_s=0.1) as server:
        records = run_shape(server.url, ClosedLoop(clients=10, duration_s=2.0), tmp_path)
    summary = summarize(records)
    expected = 10 / 0.1
    # Generous: the host is shared (the run's tail, one service time, also counts).
    assert expected * 0.8 <= summary.throughput <= expected * 1.02
    assert summary.errors == {}
    assert {r.client_id for r in records} == set(range(10))
    assert all(r.latency_ms >= 100.0 for r in records)


@pytest.mark.slow
def test_open_loop_sends_at_the_requested_rate(tmp_path: Path) -> None:
    with serving() as server:
        records = run_shape(server.url, OpenLoop.constant(200, 10.0), tmp_path)
    assert len(records) == 2000
    assert len(server.behaviour.arrivals) == 2000
    errors_ms = sorted((r.sent_at - r.intended_at) * 1e3 for r in records)
    assert errors_ms[0] >= 0.0
    # The target is a p99 under 5 ms (met on a quiet machine). On a loaded shared host one stall
    # of the load process (half a second seen) delays the ~1 % of sends due during it, so the
    # margin is on p95; an engine that falls behind the schedule moves p50 and p95 as well.
    assert percentile(errors_ms, 50.0) < 5.0
    assert percentile(errors_ms, 95.0) < 50.0
    intended = sorted(r.intended_at for r in records)
    assert intended[-1] - intended[0] == pytest.approx(9.995, abs=1e-6)


def test_a_stall_shows_in_the_requests_intended_during_it(tmp_path: Path) -> None:
    stall_s = 1.0
    stall_end = time.monotonic() + 1.5 + stall_s
    with serving(stall_until=stall_end) as server:
        offset = time.time() - time.monotonic()
        records = run_shape(server.url, OpenLoop.constant(50, 4.0), tmp_path)
    stall_end += offset
    stall_start = stall_end - stall_s
    during = [r for r in records if stall_start + 0.1 <= r.intended_at <= stall_end - 0.1]
    after = [r for r in records if r.intended_at >= stall_end + 0.3]
    assert during and after
    for record in during:
        # Held until the stall ended: latency from the intended send time covers the wait.
        assert record.latency_ms >= (stall_end - record.intended_at) * 1e3 - 50
    # The engine kept sending on schedule through the stall, and every latency runs from the
    # intended send time (its own lateness in sending included), not from the actual send.
    assert percentile(sorted((r.sent_at - r.intended_at) * 1e3 for r in during), 50.0) < 5.0
    for record in records:
        from_intended = (record.sent_at + record.elapsed_time - record.intended_at) * 1e3
        assert record.latency_ms == pytest.approx(from_intended, abs=1e-3)
    assert any(r.sent_at - r.intended_at > 1e-5 for r in records)
    worst = max(r.latency_ms for r in records if r.intended_at >= stall_start)
    assert stall_s * 1e3 * 0.8 <= worst <= stall_s * 1e3 * 1.5
    assert percentile(sorted(r.latency_ms for r in after), 50.0) < 200


def test_attempts_are_counted_apart_from_requests(tmp_path: Path) -> None:
    script = deque([(503, "ServiceUnavailable"), (400, "ThrottlingException")])
    with serving(script=script) as server:
        records = run_shape(server.url, Burst(1), tmp_path, RetrySettings(RetryMode.STANDARD, 3))
    (record,) = records
    assert record.attempts == 3
    assert record.error_code == ""
    assert record.status_response == 200
    assert record.throttled_attempts == 1
    assert record.throttled is False
    assert len(server.behaviour.arrivals) == 3


def test_retries_off_leaves_one_attempt(tmp_path: Path) -> None:
    script = deque([(400, "ThrottlingException"), (500, "InternalFailure")])
    with serving(script=script) as server:
        records = run_shape(server.url, Burst(2), tmp_path, RetrySettings(RetryMode.LEGACY, 1))
    by_code = {r.error_code: r for r in records}
    assert set(by_code) == {"ThrottlingException", "InternalFailure"}
    assert by_code["ThrottlingException"].throttled is True
    assert by_code["ThrottlingException"].status_response == 400
    assert by_code["InternalFailure"].throttled is False
    assert all(r.attempts == 1 for r in records)
    summary = summarize(records)
    assert (summary.throttled_requests, summary.throttled_attempts) == (1, 1)
    assert len(server.behaviour.arrivals) == 2


def test_a_client_error_is_not_retried(tmp_path: Path) -> None:
    with serving(script=deque([(400, "ValidationError")])) as server:
        records = run_shape(server.url, Burst(1), tmp_path, RetrySettings(RetryMode.STANDARD, 5))
    assert [(r.error_code, r.attempts) for r in records] == [("ValidationError", 1)]
    assert records[0].body_response == "scripted ValidationError"


def test_the_caller_deadline_ends_a_request(tmp_path: Path) -> None:
    with serving(delay_s=3.0) as server:
        started = time.monotonic()
        records = run_shape(server.url, Burst(2), tmp_path, deadline_s=0.3)
        assert time.monotonic() - started < 2.5
    assert [r.error_code for r in records] == ["DeadlineExceeded"] * 2
    assert all(0.25 <= r.elapsed_time < 1.5 for r in records)


def test_a_read_timeout_is_a_retryable_transport_error(tmp_path: Path) -> None:
    with serving(delay_s=2.0) as server:
        records = run_shape(
            server.url,
            Burst(1),
            tmp_path,
            RetrySettings(RetryMode.STANDARD, 2),
            read_timeout=0.2,
        )
    assert [(r.error_code, r.attempts, r.status_response) for r in records] == [
        ("ReadTimeoutError", 2, 0)
    ]


def test_an_unreachable_endpoint_is_recorded_not_raised(tmp_path: Path) -> None:
    with serving() as server:
        url = server.url
    records = run_shape(url, Burst(3), tmp_path, RetrySettings(RetryMode.LEGACY, 2))
    assert [(r.error_code, r.attempts) for r in records] == [("EndpointConnectionError", 2)] * 3


def test_one_process_drives_two_thousand_concurrent_clients(tmp_path: Path) -> None:
    with serving(delay_s=2.0) as server:
        records = run_shape(server.url, Burst(2000), tmp_path)
    assert len(records) == 2000
    assert summarize(records).errors == {}
    # All 2,000 were in flight together: the last arrived before the first was answered.
    assert max(server.behaviour.arrivals) < min(server.behaviour.answered)


@pytest.mark.slow
def test_records_survive_a_kill_9_of_the_load_process(tmp_path: Path) -> None:
    out = tmp_path / "records.parquet"
    with serving() as server:
        command = [sys.executable, "-m", "tests.loadgen_run", server.url, str(out), "100", "60"]
        process = subprocess.Popen(command)
        try:
            deadline = time.monotonic() + 60
            while len(list(parts_dir(out).glob("part-*.parquet"))) < 4:
                assert time.monotonic() < deadline, "the run wrote no parts"
                assert process.poll() is None, "the run ended early"
                time.sleep(0.05)  # polling for files the child writes, not simulating work
            time.sleep(1.0)  # let it run on past a flush, then kill it mid-stride
            killed_at = time.monotonic()
            process.send_signal(signal.SIGKILL)
            process.wait(30)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait(30)
    recovered = read_records(out)
    answered_before = sum(1 for t in server.behaviour.answered if t < killed_at - 1.0)
    # Everything answered more than a second before the kill is on disk; nothing is invented.
    assert answered_before >= 100
    assert answered_before <= len(recovered) <= len(server.behaviour.answered)
    numbers = [r.execution_number for r in recovered]
    assert len(set(numbers)) == len(numbers)


def make_client(url: str) -> RuntimeClient:
    target = Target(url, "us-east-1", Credentials("test", "test"))
    return RuntimeClient(target, "probe", RetrySettings(RetryMode.STANDARD))


def test_processes_split_the_clients_and_merge_the_records(tmp_path: Path) -> None:
    with serving(delay_s=0.1) as server:
        plan = Plan(ClosedLoop(clients=10, duration_s=2.0), [INVOCATION])
        records = run_in_processes(
            functools.partial(make_client, server.url), plan, tmp_path / "r.parquet", 2
        )
    assert len(records) == len(server.behaviour.arrivals)
    assert {r.client_id for r in records} == set(range(10))
    numbers = [r.execution_number for r in records]
    assert len(set(numbers)) == len(numbers)
    # Both processes started together and kept 10 requests in flight: ~100 requests/s.
    assert 0.8 * 100 <= summarize(records).throughput <= 1.02 * 100
    assert not parts_dir(tmp_path / "r.parquet").exists()


def test_processes_share_an_open_loop_schedule_exactly(tmp_path: Path) -> None:
    shape = OpenLoop.constant(100, 2.0)
    with serving() as server:
        plan = Plan(shape, [INVOCATION])
        records = run_in_processes(
            functools.partial(make_client, server.url), plan, tmp_path / "r.parquet", 2
        )
    assert len(records) == 200
    start = min(r.intended_at for r in records)
    offsets = sorted(round(r.intended_at - start, 6) for r in records)
    assert offsets == [round(s.at, 6) for s in schedule(shape)]

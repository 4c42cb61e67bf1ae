"""Request records: exact percentiles and summaries, Parquet parts and files, CSV columns."""

from __future__ import annotations

import csv
import math
import random
import statistics
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from endpointlab.results import (
    CSV_COLUMNS,
    RecordWriter,
    RequestRecord,
    percentile,
    read_records,
    summarize,
    write_csv,
    write_parquet,
)

ISSUE_COLUMNS = (
    "execution_number, client_id, status_response, body_response, elapsed_time, current_date, "
    "intended_at, sent_at, latency_ms, service_ms, attempts, error_code, throttled, cold_start, "
    "variant, phase, request_bytes, response_bytes"
)


def record(number: int, **changes: object) -> RequestRecord:
    values: dict[str, object] = {
        "execution_number": number,
        "client_id": number % 3,
        "status_response": 200,
        "body_response": '{"ok": true}',
        "elapsed_time": 0.010,
        "current_date": "2026-12-07T14:00:00+00:00",
        "intended_at": 1000.0 + number,
        "sent_at": 1000.0 + number,
        "latency_ms": float(number),
        "service_ms": 10.0,
        "attempts": 1,
        "error_code": "",
        "throttled": False,
        "cold_start": None,
        "variant": "AllTraffic",
        "phase": "",
        "request_bytes": 5,
        "response_bytes": 12,
    }
    values.update(changes)
    return RequestRecord(**values)  # type: ignore[arg-type]


def test_percentiles_are_exact_over_all_samples() -> None:
    rng = random.Random(7)
    samples = sorted(rng.lognormvariate(3, 1) for _ in range(10_001))
    cuts = statistics.quantiles(samples, n=1000, method="inclusive")
    assert percentile(samples, 99.9) == pytest.approx(cuts[998])
    assert percentile(samples, 50.0) == pytest.approx(statistics.median(samples))
    assert percentile(samples, 100.0) == samples[-1]
    assert percentile([4.0], 99.0) == 4.0
    assert math.isnan(percentile([], 50.0))


def test_the_tail_is_never_dropped() -> None:
    samples = sorted([1.0] * 999 + [5000.0])
    assert percentile(samples, 100.0) == 5000.0
    assert percentile(samples, 99.95) > 1.0


def test_a_summary_counts_requests_attempts_throttles_errors_and_cold_starts() -> None:
    records = [
        record(1, cold_start=True, cold_start_ms=800.0),
        record(2, attempts=3, throttled_attempts=2),
        record(
            3,
            attempts=1,
            throttled=True,
            throttled_attempts=1,
            error_code="ThrottlingException",
            status_response=400,
        ),
        record(4, error_code="ModelError", status_response=424),
        record(5, error_code="ModelError", status_response=424),
    ]
    summary = summarize(records)
    assert (summary.requests, summary.successes, summary.attempts) == (5, 2, 7)
    assert (summary.throttled_requests, summary.throttled_attempts) == (1, 3)
    assert summary.errors == {"ModelError": 2, "ThrottlingException": 1}
    assert summary.cold_starts == 1
    assert summary.latency_ms["max"] == 2.0
    assert summary.latency_ms["p50"] == 1.5
    # From the first intended send (1001) to the last answer (1005.010).
    assert summary.duration_s == pytest.approx(4.010)
    assert summary.throughput == pytest.approx(2 / 4.010)


def test_the_csv_has_the_issue_columns_in_order(tmp_path: Path) -> None:
    out = tmp_path / "records.csv"
    write_csv([record(1), record(2, cold_start=True, body_response='a,"b"\nc')], out)
    with out.open(newline="") as handle:
        rows = list(csv.reader(handle))
    issue = [c.strip() for c in ISSUE_COLUMNS.split(",")]
    # The issue's columns first, in its order; the async ones (load --async) after them.
    assert rows[0] == [*issue, "submit_ms", "output_ms", "async_outcome"]
    assert tuple(rows[0]) == CSV_COLUMNS
    assert rows[1][CSV_COLUMNS.index("cold_start")] == ""
    assert rows[2][CSV_COLUMNS.index("cold_start")] == "True"
    assert rows[2][CSV_COLUMNS.index("body_response")] == 'a,"b"\nc'


def test_parquet_keeps_every_field(tmp_path: Path) -> None:
    out = tmp_path / "records.parquet"
    records = [record(1, cold_start=True, cold_start_ms=812.5, throttled_attempts=2), record(2)]
    write_parquet(records, out)
    assert read_records(out) == records
    assert "throttled_attempts" in pq.read_schema(out).names
    asynchronous = [record(3, submit_ms=4.5, output_ms=120.0, async_outcome="Completed")]
    write_parquet(asynchronous, out)
    assert read_records(out) == asynchronous


def test_records_written_before_the_async_fields_read_back_without_them(tmp_path: Path) -> None:
    out = tmp_path / "old.parquet"
    write_parquet([record(1)], out)
    table = pq.read_table(out)
    pq.write_table(table.drop(["submit_ms", "output_ms", "async_outcome"]), out)
    [old] = read_records(out)
    assert old == record(1)
    assert (old.submit_ms, old.output_ms, old.async_outcome) == (None, None, None)


def test_the_writer_streams_parts_and_merges_them(tmp_path: Path) -> None:
    writer = RecordWriter(tmp_path / "run.parquet")
    for number in range(1, 4):
        writer.add(record(number))
    writer.flush()
    writer.flush()  # nothing new: no empty part
    writer.add(record(4))
    writer.flush()
    parts = sorted(writer.parts.glob("part-*.parquet"))
    assert len(parts) == 2
    # A run killed now leaves its parts; they read back as its records.
    assert [r.execution_number for r in read_records(tmp_path / "run.parquet")] == [1, 2, 3, 4]
    writer.add(record(5))
    merged = writer.close()
    assert [r.execution_number for r in merged] == [1, 2, 3, 4, 5]
    assert not writer.parts.exists()


def test_reading_nothing_says_so(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        read_records(tmp_path / "missing.parquet")

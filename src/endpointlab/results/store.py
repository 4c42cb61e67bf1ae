"""Records on disk: streamed as Parquet parts during a run, merged at its end, exported as CSV.

``RecordWriter`` writes each flush as one complete Parquet file in ``<out>.parts/`` (written to
a temporary name, then renamed), so a killed run loses only what it had not yet flushed;
``close`` merges the parts into the final file. ``read_records`` reads a final file or, after a
crash, the parts a run left behind.
"""

from __future__ import annotations

import csv
import os
import threading
from collections.abc import Iterable, Sequence
from dataclasses import astuple
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from endpointlab.results.records import CSV_COLUMNS, FIELD_NAMES, RequestRecord

SCHEMA = pa.schema(
    [
        ("execution_number", pa.int64()),
        ("client_id", pa.int64()),
        ("status_response", pa.int32()),
        ("body_response", pa.string()),
        ("elapsed_time", pa.float64()),
        ("current_date", pa.string()),
        ("intended_at", pa.float64()),
        ("sent_at", pa.float64()),
        ("latency_ms", pa.float64()),
        ("service_ms", pa.float64()),
        ("attempts", pa.int32()),
        ("error_code", pa.string()),
        ("throttled", pa.bool_()),
        ("cold_start", pa.bool_()),
        ("variant", pa.string()),
        ("phase", pa.string()),
        ("request_bytes", pa.int64()),
        ("response_bytes", pa.int64()),
        ("throttled_attempts", pa.int32()),
        ("cold_start_ms", pa.float64()),
        ("submit_ms", pa.float64()),
        ("output_ms", pa.float64()),
        ("async_outcome", pa.string()),
    ]
)
assert tuple(SCHEMA.names) == FIELD_NAMES


_WARMUP = RequestRecord(0, 0, 0, "", 0.0, "", 0.0, 0.0, 0.0, 0.0, 0, "", False, None, "", "", 0, 0)


def parts_dir(out: Path) -> Path:
    """Where a run writing ``out`` streams its Parquet parts."""
    return out.with_name(out.name + ".parts")


def _table(records: Sequence[RequestRecord]) -> pa.Table:
    columns = list(zip(*(astuple(r) for r in records), strict=True))
    return pa.Table.from_arrays(
        [pa.array(col, type=field.type) for col, field in zip(columns, SCHEMA, strict=True)],
        schema=SCHEMA,
    )


def write_parquet(records: Sequence[RequestRecord], path: Path) -> None:
    """All ``records`` as one Parquet file (written to a temporary name, then renamed)."""
    table = _table(records) if records else SCHEMA.empty_table()
    temporary = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, temporary)
    os.replace(temporary, path)


class RecordWriter:
    """Collects records from the run and writes them out as Parquet parts.

    ``add`` is cheap (a list append); a run calls ``take`` on its own thread and hands the batch
    to ``write`` on another, at least once a second.
    """

    def __init__(self, out: Path) -> None:
        self.out = out
        self.parts = parts_dir(out)
        self.parts.mkdir(parents=True, exist_ok=True)
        for stale in self.parts.glob("part-*.parquet"):
            stale.unlink()
        # Pyarrow's first write initialises a lot; do it now, not in the middle of a run.
        warmup = self.parts / ".warmup.parquet"
        write_parquet([_WARMUP], warmup)
        warmup.unlink()
        self._pending: list[RequestRecord] = []
        self._lock = threading.Lock()
        self._count = 0
        self.written = 0

    def add(self, record: RequestRecord) -> None:
        self._pending.append(record)

    def take(self) -> list[RequestRecord]:
        """What was added since the last take (call it on the thread that adds)."""
        batch, self._pending = self._pending, []
        return batch

    def write(self, batch: list[RequestRecord]) -> None:
        """Write ``batch`` as the next part (may run on another thread than ``add``)."""
        if not batch:
            return
        with self._lock:
            self._count += 1
            write_parquet(batch, self.parts / f"part-{self._count:06d}.parquet")
            self.written += len(batch)

    def flush(self) -> None:
        """Write what was added since the last flush as one part."""
        self.write(self.take())

    def close(self) -> list[RequestRecord]:
        """Flush, read every part back, remove the parts; the run's records in send order."""
        self.flush()
        records = read_records(self.parts)
        for part in self.parts.glob("part-*.parquet"):
            part.unlink()
        self.parts.rmdir()
        return records


def read_records(path: Path) -> list[RequestRecord]:
    """The records in a Parquet file, a parts directory, or a run's leftover ``<path>.parts``
    (with the parts of each process of a multi-process run below it)."""
    if path.is_dir():
        files = sorted(path.rglob("part-*.parquet"))
    elif path.exists():
        files = [path]
    elif parts_dir(path).is_dir():
        files = sorted(parts_dir(path).rglob("part-*.parquet"))
    else:
        raise FileNotFoundError(f"no records at {path}")
    records: list[RequestRecord] = []
    for file in files:
        table = pq.read_table(file)
        # Files written before the async fields existed lack them: they default to None.
        rows = table.select([n for n in FIELD_NAMES if n in table.column_names]).to_pylist()
        records.extend(RequestRecord(**row) for row in rows)
    records.sort(key=lambda r: r.execution_number)
    return records


def write_csv(records: Iterable[RequestRecord], path: Path) -> None:
    """The records as CSV, columns in ``CSV_COLUMNS`` order (an unknown cold start is empty)."""
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for record in records:
            writer.writerow(_csv_value(getattr(record, name)) for name in CSV_COLUMNS)
    os.replace(temporary, path)


def _csv_value(value: object) -> object:
    return "" if value is None else value

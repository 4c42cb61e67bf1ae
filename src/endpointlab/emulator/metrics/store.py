"""Raw metric samples in SQLite under the data directory, kept for a configurable retention.

One row per sample (``count`` observations of a value at one second, or a statistic set), one
row per metric in ``series`` with the time of its newest sample so ListMetrics need not scan
samples. Calls come from worker threads (``asyncio.to_thread``); a lock serialises them.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

from endpointlab.emulator.metrics.catalogue import MetricKey
from endpointlab.emulator.metrics.statistics import Sample

SCHEMA = """
CREATE TABLE IF NOT EXISTS series (
    id INTEGER PRIMARY KEY,
    namespace TEXT NOT NULL,
    name TEXT NOT NULL,
    dimensions TEXT NOT NULL,
    last_ts INTEGER NOT NULL,
    UNIQUE (namespace, name, dimensions)
);
CREATE TABLE IF NOT EXISTS samples (
    series INTEGER NOT NULL,
    ts INTEGER NOT NULL,
    unit TEXT NOT NULL,
    value REAL,
    count REAL NOT NULL,
    total REAL NOT NULL,
    minimum REAL NOT NULL,
    maximum REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS samples_by_series ON samples (series, ts);
CREATE INDEX IF NOT EXISTS samples_by_time ON samples (ts);
"""


class MetricStore:
    """The samples of every metric; ``path=None`` keeps them in memory (tests)."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            ":memory:" if path is None else str(path), check_same_thread=False
        )
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._ids: dict[MetricKey, int] = {}
        self._last: dict[int, int] = {}
        for row in self._db.execute("SELECT id, namespace, name, dimensions, last_ts FROM series"):
            key = MetricKey(row[1], row[2], _dimensions(row[3]))
            self._ids[key] = row[0]
            self._last[row[0]] = row[4]

    def write(self, rows: Iterable[tuple[MetricKey, Sample]]) -> int:
        """Append samples (one transaction); returns how many were written."""
        with self._lock, self._db:
            records = []
            touched: set[int] = set()
            for key, sample in rows:
                series = self._series(key, sample.timestamp)
                touched.add(series)
                records.append(
                    (
                        series,
                        sample.timestamp,
                        sample.unit,
                        sample.value,
                        sample.count,
                        sample.total,
                        sample.minimum,
                        sample.maximum,
                    )
                )
            self._db.executemany("INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?)", records)
            self._db.executemany(
                "UPDATE series SET last_ts = ? WHERE id = ?",
                [(self._last[series], series) for series in touched],
            )
            return len(records)

    def _series(self, key: MetricKey, timestamp: int) -> int:
        series = self._ids.get(key)
        if series is None:
            cursor = self._db.execute(
                "INSERT INTO series (namespace, name, dimensions, last_ts) VALUES (?, ?, ?, ?)",
                (key.namespace, key.name, json.dumps(key.dimensions), timestamp),
            )
            series = self._ids[key] = int(cursor.lastrowid or 0)
            self._last[series] = timestamp
        elif timestamp > self._last[series]:
            self._last[series] = timestamp
        return series

    def samples(self, key: MetricKey, start: int, end: float, unit: str | None) -> list[Sample]:
        """Samples of ``key`` with ``start <= timestamp < end`` (and ``unit`` if given)."""
        with self._lock:
            series = self._ids.get(key)
            if series is None:
                return []
            query = (
                "SELECT ts, unit, value, count, total, minimum, maximum FROM samples "
                "WHERE series = ? AND ts >= ? AND ts < ?"
            )
            args: tuple[object, ...] = (series, start, end)
            if unit is not None:
                query += " AND unit = ?"
                args = (*args, unit)
            return [Sample(*row) for row in self._db.execute(query, args)]

    def metrics(self, *, since: float) -> list[MetricKey]:
        """Every metric with a sample at or after ``since``, sorted."""
        with self._lock:
            keys = [key for key, series in self._ids.items() if self._last[series] >= since]
        return sorted(keys, key=lambda k: (k.namespace, k.name, k.dimensions))

    def purge(self, before: float) -> int:
        """Delete samples older than ``before`` and metrics left without samples."""
        with self._lock, self._db:
            deleted = self._db.execute("DELETE FROM samples WHERE ts < ?", (before,)).rowcount
            stale = [series for series, ts in self._last.items() if ts < before]
            if stale:
                self._db.executemany("DELETE FROM series WHERE id = ?", [(s,) for s in stale])
                gone = set(stale)
                self._ids = {k: v for k, v in self._ids.items() if v not in gone}
                for series in stale:
                    del self._last[series]
            return int(deleted)

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _dimensions(text: str) -> tuple[tuple[str, str], ...]:
    return tuple((str(name), str(value)) for name, value in json.loads(text))

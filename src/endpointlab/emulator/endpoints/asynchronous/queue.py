"""The durable queue of async requests: one SQLite file in the data directory.

A request is ``queued`` when InvokeEndpointAsync answers 202, ``running`` while an instance
works on it, ``done`` once its output or failure object is written (its notification pending),
and deleted once notified. Opening the queue puts back every ``running`` request: the process
that ran it died (kill -9), so it runs again and rewrites the same output key. SQLite in WAL
mode with synchronous=NORMAL survives a killed process; the layout is versioned (user_version).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    endpoint TEXT NOT NULL,
    variant TEXT NOT NULL,
    inference_id TEXT NOT NULL,
    state TEXT NOT NULL,
    received REAL NOT NULL,
    deadline REAL NOT NULL,
    request TEXT NOT NULL,
    body BLOB,
    outcome TEXT
);
CREATE INDEX IF NOT EXISTS requests_by_state ON requests (endpoint, variant, state, seq);
"""
QUEUED, RUNNING, DONE = "queued", "running", "done"
_COLUMNS = "seq, endpoint, variant, inference_id, received, deadline, request, body, outcome"


class QueueVersionError(Exception):
    """The queue file was written by a newer endpointlab."""


@dataclass(frozen=True)
class Queued:
    """One request as stored: ``request`` holds its members and resolved locations."""

    seq: int
    endpoint: str
    variant: str
    inference_id: str
    received: float
    deadline: float
    request: Mapping[str, Any]
    body: bytes | None
    outcome: Mapping[str, Any] | None = None


class AsyncQueue:
    """Every async endpoint's requests, in arrival order per (endpoint, variant)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise QueueVersionError(f"{path} has queue layout {version}, newer than this one")
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
        # Whatever was running when the last process died runs again.
        self.recovered = self._db.execute(
            "UPDATE requests SET state=? WHERE state=?", (QUEUED, RUNNING)
        ).rowcount

    def put(
        self,
        endpoint: str,
        variant: str,
        inference_id: str,
        received: float,
        deadline: float,
        request: Mapping[str, Any],
        body: bytes | None,
    ) -> int:
        with self._lock:
            cursor = self._db.execute(
                "INSERT INTO requests (endpoint, variant, inference_id, state, received, "
                "deadline, request, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (endpoint.lower(), variant, inference_id, QUEUED, received, deadline,
                 json.dumps(request), body),
            )  # fmt: skip
            return int(cursor.lastrowid or 0)

    def claim(self, endpoint: str, variant: str) -> Queued | None:
        """The oldest queued request of the variant, now running (None: none waits)."""
        with self._lock:
            row = self._db.execute(
                f"UPDATE requests SET state=? WHERE seq = (SELECT seq FROM requests WHERE "
                f"endpoint=? AND variant=? AND state=? ORDER BY seq LIMIT 1) RETURNING {_COLUMNS}",
                (RUNNING, endpoint.lower(), variant, QUEUED),
            ).fetchone()
        return _queued(row) if row else None

    def expired(self, endpoint: str, variant: str, now: float) -> list[Queued]:
        """Queued requests past their deadline, now running (to be failed)."""
        with self._lock:
            rows = self._db.execute(
                f"UPDATE requests SET state=? WHERE endpoint=? AND variant=? AND state=? "
                f"AND deadline < ? RETURNING {_COLUMNS}",
                (RUNNING, endpoint.lower(), variant, QUEUED, now),
            ).fetchall()
        return sorted((_queued(row) for row in rows), key=lambda q: q.seq)

    def requeue(self, seq: int) -> None:
        """Put a running request back (its instance stopped before it finished); one already
        done stays done."""
        with self._lock:
            self._db.execute(
                "UPDATE requests SET state=? WHERE seq=? AND state=?", (QUEUED, seq, RUNNING)
            )

    def finish(self, seq: int, outcome: Mapping[str, Any]) -> None:
        """The request's object is written; ``outcome`` is what its notification needs."""
        with self._lock:
            self._db.execute(
                "UPDATE requests SET state=?, outcome=?, body=NULL WHERE seq=?",
                (DONE, json.dumps(outcome), seq),
            )

    def unnotified(self, endpoint: str, variant: str) -> list[Queued]:
        """Finished requests whose notification was not yet sent (after a crash)."""
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLUMNS} FROM requests WHERE endpoint=? AND variant=? AND state=? "
                "ORDER BY seq",
                (endpoint.lower(), variant, DONE),
            ).fetchall()
        return [_queued(row) for row in rows]

    def remove(self, seq: int) -> None:
        with self._lock:
            self._db.execute("DELETE FROM requests WHERE seq=?", (seq,))

    def backlog(self, endpoint: str) -> tuple[int, float | None]:
        """Queued plus running requests of an endpoint, and the oldest one's arrival."""
        with self._lock:
            count, oldest = self._db.execute(
                "SELECT count(*), min(received) FROM requests WHERE endpoint=? AND state IN (?, ?)",
                (endpoint.lower(), QUEUED, RUNNING),
            ).fetchone()
        return int(count), oldest

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _queued(row: tuple[Any, ...]) -> Queued:
    seq, endpoint, variant, inference_id, received, deadline, request, body, outcome = row
    return Queued(
        seq,
        endpoint,
        variant,
        inference_id,
        received,
        deadline,
        json.loads(request),
        body,
        json.loads(outcome) if outcome else None,
    )

"""The versioned layout of the control-plane state file (``state.sqlite3`` in the data dir).

The version lives in SQLite's ``user_version``. Opening a file migrates an older layout forward
one step at a time, in one transaction, and refuses a newer or unknown one with a message that
names the file, so a downgrade never reads (or rewrites) state it does not understand.

Version 0 is every data dir written before versions existed (endpointlab 0.1.0 up to December
2026): the same tables with no version stamped. Records from its earlier builds may lack the
fields added later (an endpoint's ``deployed``, a variant's ``desired_serverless``); the store's
loader reads those as absent. Version 2 adds ``documents``: JSON records of other kinds
(Application Auto Scaling's targets, policies and activities, CloudWatch alarms).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

SCHEMA_VERSION = 2

_TABLES = (
    """
CREATE TABLE IF NOT EXISTS resources (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, key)
)
""",
    # A resource's tags as a JSON list of [key, value] pairs, in the order they were added.
    """
CREATE TABLE IF NOT EXISTS tags (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, key)
)
""",
)


# Version 2: records other than SageMaker resources, by kind ("alarm", "scalable-target"...).
_DOCUMENTS = """
CREATE TABLE IF NOT EXISTS documents (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, key)
)
"""


class StateVersionError(Exception):
    """The state file was written in a layout this version cannot read."""


def _create_tables(db: sqlite3.Connection) -> None:
    for statement in _TABLES:
        db.execute(statement)


def _add_documents(db: sqlite3.Connection) -> None:
    db.execute(_DOCUMENTS)


# MIGRATIONS[n] turns a version-n file into version n + 1. Version 0 had the same tables (the
# tags table arrived later in 0.1.0, hence IF NOT EXISTS); stamping is all it needs.
MIGRATIONS: dict[int, Callable[[sqlite3.Connection], None]] = {
    0: _create_tables,
    1: _add_documents,
}


def prepare(db: sqlite3.Connection, path: Path | None) -> None:
    """Bring ``db`` (opened with ``isolation_level=None``) to SCHEMA_VERSION, or refuse it."""
    where = "the in-memory state" if path is None else f"the state file {path}"
    try:
        version = int(db.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.DatabaseError as exc:  # not SQLite at all, or damaged beyond reading
        raise StateVersionError(f"{where} cannot be read ({exc}): move it aside") from None
    if version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION or version < 0:
        raise StateVersionError(
            f"{where} has layout version {version}, but this endpointlab reads versions up to "
            f"{SCHEMA_VERSION} (it was written by a newer endpointlab): run that version, or "
            "start with another --data-dir"
        )
    fresh = not db.execute("SELECT 1 FROM sqlite_master WHERE name = 'resources'").fetchone()
    db.execute("BEGIN IMMEDIATE")
    try:
        if fresh:
            _create_tables(db)
            _add_documents(db)
        else:
            for step in range(version, SCHEMA_VERSION):
                MIGRATIONS[step](db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")

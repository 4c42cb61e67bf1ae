"""SQLite persistence of models, endpoint configs and endpoints under the data directory.

Every change is written through in its own transaction, so a restart (or a crash) finds exactly
the records that were acknowledged to clients. Records are stored as JSON documents keyed by kind
and lower-cased name (SageMaker names differing only by case collide, as their ARNs do). Each
record's tags live beside it (table ``tags``, same key): created with it, removed with it. The
file's layout is versioned (``schema.py``): older ones are migrated, newer ones refused. Other
records (alarms, scaling targets) are JSON documents by kind and key (``*_document``).
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

from endpointlab.emulator.control.schema import prepare
from endpointlab.emulator.records import (
    AsyncConfig,
    Container,
    Deployed,
    Endpoint,
    EndpointConfig,
    EndpointStatus,
    Model,
    ResourceKind,
    ServerlessConfig,
    Variant,
    VariantState,
)

Record = Model | EndpointConfig | Endpoint


class Store:
    """A small write-through document store; ``path=None`` keeps everything in memory."""

    def __init__(self, path: Path | None) -> None:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(
            str(path) if path else ":memory:", check_same_thread=False, isolation_level=None
        )
        try:
            prepare(self._db, path)
        except BaseException:
            self._db.close()
            raise
        self._db.execute("PRAGMA journal_mode=WAL" if path else "PRAGMA journal_mode=MEMORY")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._lock = threading.Lock()

    def put(self, record: Record) -> None:
        kind = kind_of(record)
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO resources (kind, key, body) VALUES (?, ?, ?)",
                (kind.value, record.name.lower(), json.dumps(_dump(record))),
            )

    def create(self, record: Record, tags: Mapping[str, str]) -> None:
        """Store a new record with its tags in one transaction (a name taken before by a
        deleted resource starts with these tags only)."""
        kind = kind_of(record)
        key = record.name.lower()
        with self._lock, self._transaction():
            self._db.execute(
                "INSERT OR REPLACE INTO resources (kind, key, body) VALUES (?, ?, ?)",
                (kind.value, key, json.dumps(_dump(record))),
            )
            self._write_tags(kind, key, tags)

    def put_tags(self, kind: ResourceKind, name: str, tags: Mapping[str, str]) -> None:
        """Replace the tags of the record ``kind``/``name``."""
        with self._lock:
            self._write_tags(kind, name.lower(), tags)

    def delete(self, kind: ResourceKind, name: str) -> None:
        """Delete a record and its tags in one transaction."""
        key = (kind.value, name.lower())
        with self._lock, self._transaction():
            self._db.execute("DELETE FROM resources WHERE kind = ? AND key = ?", key)
            self._db.execute("DELETE FROM tags WHERE kind = ? AND key = ?", key)

    def load_tags(self, kind: ResourceKind) -> Iterator[tuple[str, dict[str, str]]]:
        """``(lower-cased name, tags)`` of every record of ``kind`` that has tags."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, body FROM tags WHERE kind = ?", (kind.value,)
            ).fetchall()
        for key, body in rows:
            yield key, {str(k): str(v) for k, v in json.loads(body)}

    def _write_tags(self, kind: ResourceKind, key: str, tags: Mapping[str, str]) -> None:
        if tags:
            self._db.execute(
                "INSERT OR REPLACE INTO tags (kind, key, body) VALUES (?, ?, ?)",
                (kind.value, key, json.dumps([[k, v] for k, v in tags.items()])),
            )
        else:
            self._db.execute("DELETE FROM tags WHERE kind = ? AND key = ?", (kind.value, key))

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN")
        try:
            yield
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def load_all(self, kind: ResourceKind) -> Iterator[Record]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM resources WHERE kind = ?", (kind.value,)
            ).fetchall()
        for (body,) in rows:
            yield _load(kind, json.loads(body))

    # --- documents: JSON records of other kinds (alarms, scaling targets...) -----------------

    def put_document(self, kind: str, key: str, body: Mapping[str, Any]) -> None:
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO documents (kind, key, body) VALUES (?, ?, ?)",
                (kind, key, json.dumps(body)),
            )

    def delete_document(self, kind: str, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM documents WHERE kind = ? AND key = ?", (kind, key))

    def load_documents(self, kind: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM documents WHERE kind = ? ORDER BY key", (kind,)
            ).fetchall()
        return [json.loads(body) for (body,) in rows]

    def close(self) -> None:
        with self._lock:
            self._db.close()


def kind_of(record: Record) -> ResourceKind:
    if isinstance(record, Model):
        return ResourceKind.MODEL
    if isinstance(record, EndpointConfig):
        return ResourceKind.ENDPOINT_CONFIG
    return ResourceKind.ENDPOINT


def _time(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _parse_time(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _serverless(value: ServerlessConfig | None) -> dict[str, Any] | None:
    if value is None:
        return None
    return {
        "memory_size_mb": value.memory_size_mb,
        "max_concurrency": value.max_concurrency,
        "provisioned_concurrency": value.provisioned_concurrency,
    }


def _load_serverless(value: dict[str, Any] | None) -> ServerlessConfig | None:
    return ServerlessConfig(**value) if value else None


def _async(value: AsyncConfig | None) -> dict[str, Any] | None:
    return None if value is None else asdict(value)


def _load_async(value: dict[str, Any] | None) -> AsyncConfig | None:
    if not value:
        return None
    return AsyncConfig(**{**value, "include_response_in": tuple(value["include_response_in"])})


def _dump(record: Record) -> dict[str, Any]:
    if isinstance(record, Model):
        return {
            "name": record.name,
            "arn": record.arn,
            "creation_time": _time(record.creation_time),
            "spec": record.spec,
            "containers": [
                {
                    "image": c.image,
                    "model_data_url": c.model_data_url,
                    "environment": dict(c.environment),
                    "hostname": c.hostname,
                }
                for c in record.containers
            ],
        }
    if isinstance(record, EndpointConfig):
        return {
            "name": record.name,
            "arn": record.arn,
            "creation_time": _time(record.creation_time),
            "spec": record.spec,
            "asynchronous": record.asynchronous,
            "variants": [
                {
                    "name": v.name,
                    "model_name": v.model_name,
                    "initial_weight": v.initial_weight,
                    "instance_type": v.instance_type,
                    "initial_instance_count": v.initial_instance_count,
                    "serverless": _serverless(v.serverless),
                    "asynchronous": _async(v.asynchronous),
                }
                for v in record.variants
            ],
        }
    return {
        "name": record.name,
        "arn": record.arn,
        "config_name": record.config_name,
        "status": record.status.value,
        "creation_time": _time(record.creation_time),
        "last_modified_time": _time(record.last_modified_time),
        "failure_reason": record.failure_reason,
        "pending_config_name": record.pending_config_name,
        "pending_since": _time(record.pending_since),
        "spec": record.spec,
        "deployed": _dump_deployed(record.deployed),
        "variants": [
            {
                "name": v.name,
                "current_weight": v.current_weight,
                "desired_weight": v.desired_weight,
                "current_instance_count": v.current_instance_count,
                "desired_instance_count": v.desired_instance_count,
                "serverless": _serverless(v.serverless),
                "desired_serverless": _serverless(v.desired_serverless),
                "asynchronous": v.asynchronous,
            }
            for v in record.variants
        ],
    }


def _dump_deployed(deployed: Deployed | None) -> dict[str, Any] | None:
    if deployed is None:
        return None
    return {
        "config": _dump(deployed.config),
        "models": [_dump(model) for model in deployed.models],
    }


def _load_deployed(data: dict[str, Any] | None) -> Deployed | None:
    if not data:
        return None
    config = _load(ResourceKind.ENDPOINT_CONFIG, data["config"])
    models = tuple(_load(ResourceKind.MODEL, model) for model in data["models"])
    assert isinstance(config, EndpointConfig)
    return Deployed(config, tuple(m for m in models if isinstance(m, Model)))


def _load(kind: ResourceKind, data: dict[str, Any]) -> Record:
    created = _parse_time(data["creation_time"])
    assert created is not None
    if kind is ResourceKind.MODEL:
        return Model(
            name=data["name"],
            arn=data["arn"],
            creation_time=created,
            spec=data["spec"],
            containers=tuple(Container(**c) for c in data["containers"]),
        )
    if kind is ResourceKind.ENDPOINT_CONFIG:
        return EndpointConfig(
            name=data["name"],
            arn=data["arn"],
            creation_time=created,
            spec=data["spec"],
            asynchronous=data["asynchronous"],
            variants=tuple(
                Variant(
                    **{
                        **v,
                        "serverless": _load_serverless(v["serverless"]),
                        "asynchronous": _load_async(v.get("asynchronous")),
                    }
                )
                for v in data["variants"]
            ),
        )
    modified = _parse_time(data["last_modified_time"])
    assert modified is not None
    return Endpoint(
        name=data["name"],
        arn=data["arn"],
        config_name=data["config_name"],
        status=EndpointStatus(data["status"]),
        creation_time=created,
        last_modified_time=modified,
        failure_reason=data["failure_reason"],
        pending_config_name=data["pending_config_name"],
        pending_since=_parse_time(data["pending_since"]),
        spec=data["spec"],
        deployed=_load_deployed(data.get("deployed")),
        variants=tuple(
            VariantState(
                **{
                    **v,
                    "serverless": _load_serverless(v["serverless"]),
                    "desired_serverless": _load_serverless(v.get("desired_serverless")),
                }
            )
            for v in data["variants"]
        ),
    )

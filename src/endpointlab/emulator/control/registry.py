"""The one registry of models, endpoint configs and endpoints shared by control and data plane.

Lookups, creation, deletion and listing, with the exact errors SageMaker gives: a missing
resource is ``ValidationException: Could not find endpoint "arn:..."``; a duplicate is
``Cannot create already existing endpoint "arn:..."``; an endpoint beyond an account quota of its
kind is ``ResourceLimitExceeded``. Every change is written to the store. Each resource's tags
are kept with it: set at creation, changed by AddTags/DeleteTags, gone when it is deleted.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypeVar

from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.control.quotas import Claims, quota_breach, quota_message
from endpointlab.emulator.control.store import Record, Store, kind_of
from endpointlab.emulator.control.tags import (
    TaggedResource,
    Tags,
    check_keys,
    merged,
    not_found,
    resource_of,
    without,
)
from endpointlab.emulator.endpoints.base import AccountQuota
from endpointlab.emulator.endpoints.kinds import kind_of as kind_of_variant
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.records import (
    Endpoint,
    EndpointConfig,
    EndpointStatus,
    Model,
    ResourceKind,
    arn,
)

R = TypeVar("R", Model, EndpointConfig, Endpoint)
T = TypeVar("T")


def validation_error(message: str) -> ServiceError:
    return errors.VALIDATION(message=message)


@dataclass(frozen=True)
class ListQuery:
    """The filters, order and page of a List* call, already validated by the wire layer."""

    sort_by: str = "CreationTime"
    sort_order: str = "Descending"
    max_results: int = 10
    next_token: str | None = None
    name_contains: str | None = None
    creation_time_before: datetime | None = None
    creation_time_after: datetime | None = None
    last_modified_time_before: datetime | None = None
    last_modified_time_after: datetime | None = None
    status_equals: str | None = None


class Registry:
    """In-memory maps backed by the store; safe to call from the event loop and worker threads."""

    def __init__(self, store: Store, region: str, quotas: Sequence[AccountQuota] = ()) -> None:
        """``quotas``: the account quotas of every endpoint kind (``Kinds.quotas``)."""
        self.region = region
        self._store = store
        self._quotas = tuple(quotas)
        self._lock = threading.RLock()
        self._records: dict[ResourceKind, dict[str, Record]] = {kind: {} for kind in ResourceKind}
        self._tags: dict[ResourceKind, dict[str, Tags]] = {kind: {} for kind in ResourceKind}
        for kind in ResourceKind:
            for record in store.load_all(kind):
                self._records[kind][record.name.lower()] = record
            for key, tags in store.load_tags(kind):
                if key in self._records[kind]:
                    self._tags[kind][key] = tags

    def arn(self, kind: ResourceKind, name: str) -> str:
        return arn(self.region, kind, name)

    def add(self, record: Record, tags: Mapping[str, str] | None = None) -> None:
        """Store a new record with its ``tags``; a name already taken (in any case) is refused as
        AWS does, and so are tag keys in the reserved ``aws:`` namespace."""
        kind = kind_of(record)
        key = record.name.lower()
        with self._lock:
            if key in self._records[kind]:
                raise validation_error(
                    f'Cannot create already existing {kind.label} "{self.arn(kind, record.name)}".'
                )
            check_keys(tags or {})
            if isinstance(record, Endpoint):
                self._check_quotas(record.name, self._claims_of_config(record))
            self._store.create(record, tags or {})
            self._records[kind][key] = record
            self._tags[kind].pop(key, None)
            if tags:
                self._tags[kind][key] = dict(tags)

    def put(self, record: Record) -> None:
        """Replace an existing record (an endpoint changing state); an endpoint moving to
        another config, or a capacity update in progress, is checked against the account's
        quotas first."""
        with self._lock:
            if isinstance(record, Endpoint):
                before = self.find_endpoint(record.name)
                pending = record.pending_config_name
                if pending is not None and (
                    before is None or before.pending_config_name != pending
                ):
                    self._check_quotas(record.name, self._claims_of_config(record))
                desired = _update_claims(record)
                if desired and (before is None or _update_claims(before) != desired):
                    self._check_quotas(record.name, desired)
            self._store.put(record)
            self._records[kind_of(record)][record.name.lower()] = record

    def remove(self, kind: ResourceKind, name: str) -> None:
        with self._lock:
            self.get(kind, name)
            self._store.delete(kind, name)
            del self._records[kind][name.lower()]
            self._tags[kind].pop(name.lower(), None)

    # Tags, by the ARN of the resource they belong to

    def tags(self, resource_arn: str) -> Tags:
        """The tags of the resource ``resource_arn`` names, in the order they were added."""
        with self._lock:
            found = self._tagged(resource_arn)
            return dict(self._tags[found.kind].get(found.name.lower(), {}))

    def add_tags(self, resource_arn: str, tags: Mapping[str, str]) -> None:
        """Add ``tags`` to the resource, overwriting the values of keys it has."""
        check_keys(tags)
        with self._lock:
            found = self._tagged(resource_arn)
            key = found.name.lower()
            updated = merged(self._tags[found.kind].get(key, {}), tags, resource_arn)
            self._set_tags(found, updated)

    def delete_tags(self, resource_arn: str, keys: Sequence[str]) -> None:
        """Remove the tags with ``keys`` from the resource (keys it does not have are fine)."""
        check_keys(keys)
        with self._lock:
            found = self._tagged(resource_arn)
            self._set_tags(found, without(self._tags[found.kind].get(found.name.lower(), {}), keys))

    def _tagged(self, resource_arn: str) -> TaggedResource:
        found = resource_of(resource_arn, self.region)
        if found is None or not found.here or found.name.lower() not in self._records[found.kind]:
            raise not_found(resource_arn, found.kind if found is not None else None)
        return found

    def _set_tags(self, resource: TaggedResource, tags: Tags) -> None:
        key = resource.name.lower()
        self._store.put_tags(resource.kind, key, tags)
        if tags:
            self._tags[resource.kind][key] = tags
        else:
            self._tags[resource.kind].pop(key, None)

    def get(self, kind: ResourceKind, name: str) -> Record:
        record = self._records[kind].get(name.lower())
        if record is None:
            raise validation_error(f'Could not find {kind.label} "{self.arn(kind, name)}".')
        return record

    def model(self, name: str) -> Model:
        record = self.get(ResourceKind.MODEL, name)
        assert isinstance(record, Model)
        return record

    def endpoint_config(self, name: str) -> EndpointConfig:
        record = self.get(ResourceKind.ENDPOINT_CONFIG, name)
        assert isinstance(record, EndpointConfig)
        return record

    def endpoint(self, name: str) -> Endpoint:
        record = self.get(ResourceKind.ENDPOINT, name)
        assert isinstance(record, Endpoint)
        return record

    def find_endpoint(self, name: str) -> Endpoint | None:
        record = self._records[ResourceKind.ENDPOINT].get(name.lower())
        return record if isinstance(record, Endpoint) else None

    def endpoints(self) -> list[Endpoint]:
        return [r for r in self._records[ResourceKind.ENDPOINT].values() if isinstance(r, Endpoint)]

    def all(self, kind: ResourceKind) -> list[Record]:
        with self._lock:
            return list(self._records[kind].values())

    def _check_quotas(self, endpoint: str, wanted: Claims) -> None:
        """ResourceLimitExceeded if ``endpoint`` claiming ``wanted`` would take the account past
        a quota (CreateEndpoint, UpdateEndpoint and UpdateEndpointWeightsAndCapacities fail at
        once, as on AWS)."""
        if not wanted:
            return
        others = [
            self._claims_of(other)
            for other in self.endpoints()
            if other.name.lower() != endpoint.lower()
        ]
        breach = quota_breach(others, wanted, self._quotas)
        if breach is not None:
            raise errors.RESOURCE_LIMIT_EXCEEDED(message=quota_message(breach))

    def _claims_of_config(self, endpoint: Endpoint) -> Claims:
        """The claims of ``endpoint`` on the config it is created or updated with."""
        name = endpoint.pending_config_name or endpoint.config_name
        record = self._records[ResourceKind.ENDPOINT_CONFIG].get(name.lower())
        return _config_claims(record if isinstance(record, EndpointConfig) else None)

    def _claims_of(self, endpoint: Endpoint) -> Claims:
        """The claims of an existing endpoint: its live capacity (or the one an update is
        bringing), or its config's while it is created or moved to another config."""
        if endpoint.pending_config_name is None:
            live = _total(
                kind_of_variant(state).claims_on_quotas(state) for state in endpoint.variants
            )
            if live:
                return live
        return _config_claims(self._config_of(endpoint))

    def _config_of(self, endpoint: Endpoint) -> EndpointConfig | None:
        """The config an endpoint runs, or is being updated to."""
        if endpoint.pending_config_name is None and endpoint.deployed is not None:
            return endpoint.deployed.config
        name = endpoint.pending_config_name or endpoint.config_name
        record = self._records[ResourceKind.ENDPOINT_CONFIG].get(name.lower())
        return record if isinstance(record, EndpointConfig) else None


def list_page(records: Iterable[R], query: ListQuery) -> tuple[list[R], str | None]:
    """Filter, sort and page records as SageMaker's List* operations do."""
    chosen = [r for r in records if _matches(r, query)]
    key = _sort_key(query.sort_by)
    chosen.sort(key=key, reverse=query.sort_order == "Descending")
    return page_of(chosen, query.max_results, query.next_token)


def page_of(
    items: Sequence[T], max_results: int, next_token: str | None
) -> tuple[list[T], str | None]:
    """One page of ``items`` from ``next_token`` (a token of this emulator's List* calls) and
    the token of the next page, if any."""
    start = _decode_token(next_token)
    page = list(items[start : start + max_results])
    end = start + len(page)
    return page, (_encode_token(end) if end < len(items) else None)


def _matches(record: Model | EndpointConfig | Endpoint, query: ListQuery) -> bool:
    if query.name_contains and query.name_contains.lower() not in record.name.lower():
        return False
    if query.creation_time_before and not record.creation_time < query.creation_time_before:
        return False
    if query.creation_time_after and not record.creation_time > query.creation_time_after:
        return False
    if isinstance(record, Endpoint):
        modified = record.last_modified_time
        if query.last_modified_time_before and not modified < query.last_modified_time_before:
            return False
        if query.last_modified_time_after and not modified > query.last_modified_time_after:
            return False
        if query.status_equals and record.status != EndpointStatus(query.status_equals):
            return False
    return True


def _sort_key(sort_by: str) -> Callable[[Model | EndpointConfig | Endpoint], tuple[str, str]]:
    def key(record: Model | EndpointConfig | Endpoint) -> tuple[str, str]:
        if sort_by == "Name":
            return (record.name, "")
        if sort_by == "Status" and isinstance(record, Endpoint):
            return (record.status.value, record.name)
        return (record.creation_time.isoformat(), record.name)

    return key


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"offset": offset}).encode()).decode()


def _decode_token(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise validation_error("Invalid pagination token because of the parameters.") from exc
    if not isinstance(offset, int) or offset < 0:
        raise validation_error("Invalid pagination token because of the parameters.")
    return offset


def _total(claims: Iterable[Claims]) -> Claims:
    total: dict[str, int] = {}
    for claim in claims:
        for quota, amount in claim.items():
            total[quota] = total.get(quota, 0) + amount
    return total


def _update_claims(endpoint: Endpoint) -> Claims:
    """The claims of a capacity update in progress (empty when none is under way)."""
    return _total(kind_of_variant(state).update_claims(state) for state in endpoint.variants)


def _config_claims(config: EndpointConfig | None) -> Claims:
    if config is None:
        return {}
    return _total(kind_of_variant(variant).claims_on_quotas(variant) for variant in config.variants)

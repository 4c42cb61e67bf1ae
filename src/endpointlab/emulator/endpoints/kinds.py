"""The table of endpoint kinds: adding a kind is one module under endpoints/ and one entry here.

A variant belongs to the first kind in ``KINDS`` that claims it; the last, real-time, claims the
rest. ``Kinds`` holds one instance of each for an emulator (a kind may keep state, such as the
serverless CPU-quota mechanism it detects once) and is the factory ``FleetManager`` uses.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from endpointlab.emulator.endpoints.asynchronous.kind import AsyncKind
from endpointlab.emulator.endpoints.base import (
    AccountQuota,
    EndpointKind,
    KindContext,
    ModelPackage,
    VariantRuntime,
)
from endpointlab.emulator.endpoints.realtime import RealtimeKind
from endpointlab.emulator.endpoints.serverless_kind import ServerlessKind
from endpointlab.emulator.records import Variant, VariantState

KINDS: tuple[type[EndpointKind], ...] = (ServerlessKind, AsyncKind, RealtimeKind)
DEFAULT = KINDS[-1]


def kind_of(variant: Variant | VariantState) -> type[EndpointKind]:
    """The kind of a variant of a config, or of a variant as it runs."""
    return next((kind for kind in KINDS if kind.claims(variant)), DEFAULT)


def named(name: str) -> type[EndpointKind]:
    """The kind a runtime names (``VariantRuntime.kind``)."""
    return next((kind for kind in KINDS if kind.name == name), DEFAULT)


def requested(variant: Mapping[str, Any], config: Mapping[str, Any]) -> type[EndpointKind]:
    """The kind a ProductionVariant of a CreateEndpointConfig request (``config``) asks for."""
    return next((kind for kind in KINDS if kind.requested(variant, config)), DEFAULT)


def strictest(variants: Iterable[Variant | VariantState]) -> type[EndpointKind]:
    """The kind whose payload limit binds a request to an endpoint with ``variants`` (checked
    before a variant is chosen): the smallest limit among them."""
    kinds = [kind_of(variant) for variant in variants] or [DEFAULT]
    return min(kinds, key=lambda kind: kind.max_payload_bytes)


class Kinds:
    """One instance of every kind for an emulator; builds each variant with its kind."""

    def __init__(self, context: KindContext) -> None:
        self._kinds = {kind: kind(context) for kind in KINDS}

    def build(self, variant: Variant, package: ModelPackage) -> VariantRuntime:
        return self._kinds[kind_of(variant)].build(variant, package)

    def quotas(self) -> Sequence[AccountQuota]:
        """Every kind's account quotas, in the order they are checked."""
        return [quota for kind in self._kinds.values() for quota in kind.quotas()]

    def close(self) -> None:
        """Release what each kind holds (after every variant stopped)."""
        for kind in self._kinds.values():
            kind.close()

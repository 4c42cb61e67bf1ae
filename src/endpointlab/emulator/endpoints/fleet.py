"""An endpoint's running variants, traffic routing by weight, and the factory of endpoint kinds.

A ``Fleet`` is what one endpoint config looks like when it runs. UpdateEndpoint builds a new
fleet beside the old one and swaps them only once the new one serves (blue/green), so clients
invoking in a loop never see an error.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.endpoints.base import (
    DeploymentError,
    InvocationOutcome,
    ModelPackage,
    VariantRuntime,
)
from endpointlab.emulator.records import Variant
from endpointlab.models.contract import InvocationRequest

VariantFactory = Callable[[Variant, ModelPackage], VariantRuntime]


@dataclass
class RoutedVariant:
    runtime: VariantRuntime
    weight: float


class Fleet:
    """The variants of one endpoint config, started together and routed by weight."""

    def __init__(
        self, config_name: str, variants: Sequence[RoutedVariant], rng: random.Random | None = None
    ) -> None:
        self.config_name = config_name
        self._variants = {v.runtime.name: v for v in variants}
        self._rng = rng or random.Random()

    @property
    def variants(self) -> Mapping[str, RoutedVariant]:
        return self._variants

    async def start(self) -> None:
        started: list[VariantRuntime] = []
        try:
            for routed in self._variants.values():
                await routed.runtime.start()
                started.append(routed.runtime)
        except BaseException:
            await asyncio.gather(*(runtime.stop() for runtime in started))
            raise

    async def stop(self) -> None:
        await asyncio.gather(*(v.runtime.stop() for v in self._variants.values()))

    def set_weight(self, variant: str, weight: float) -> None:
        self._variants[variant].weight = weight

    def choose(self, target_variant: str | None) -> VariantRuntime:
        """The variant for one request: TargetVariant if given, else a weighted random pick."""
        if target_variant is not None:
            routed = self._variants.get(target_variant)
            if routed is None:
                raise errors.VARIANT_NOT_FOUND(variant=target_variant)
            return routed.runtime
        variants = list(self._variants.values())
        if len(variants) == 1:
            return variants[0].runtime
        total = sum(v.weight for v in variants)
        if total <= 0:
            return self._rng.choice(variants).runtime
        point = self._rng.uniform(0, total)
        for routed in variants:
            point -= routed.weight
            if point <= 0:
                return routed.runtime
        return variants[-1].runtime

    async def invoke(
        self, request: InvocationRequest, target_variant: str | None
    ) -> tuple[str, InvocationOutcome]:
        runtime = self.choose(target_variant)
        return runtime.name, await runtime.invoke(request)


class FleetManager:
    """The fleet each endpoint currently serves from, by lower-cased endpoint name."""

    def __init__(self, factory: VariantFactory) -> None:
        self._factory = factory
        self._active: dict[str, Fleet] = {}

    def build(
        self, config_name: str, variants: Sequence[Variant], packages: Mapping[str, ModelPackage]
    ) -> Fleet:
        routed = []
        for variant in variants:
            package = packages.get(variant.model_name)
            if package is None:
                raise DeploymentError(f"model {variant.model_name} is not available")
            routed.append(RoutedVariant(self._factory(variant, package), variant.initial_weight))
        return Fleet(config_name, routed)

    def get(self, endpoint_name: str) -> Fleet | None:
        return self._active.get(endpoint_name.lower())

    def activate(self, endpoint_name: str, fleet: Fleet) -> Fleet | None:
        """Route the endpoint's traffic to ``fleet``; return the fleet it replaces."""
        previous = self._active.get(endpoint_name.lower())
        self._active[endpoint_name.lower()] = fleet
        return previous

    def deactivate(self, endpoint_name: str) -> Fleet | None:
        return self._active.pop(endpoint_name.lower(), None)

    async def shutdown(self) -> None:
        fleets = list(self._active.values())
        self._active.clear()
        await asyncio.gather(*(fleet.stop() for fleet in fleets), return_exceptions=True)

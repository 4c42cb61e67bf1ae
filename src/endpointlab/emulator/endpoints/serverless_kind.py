"""The serverless endpoint kind: the variants it claims, its limits, rules, quotas and factory.

Serverless inference takes 4 MB payloads (SageMaker developer guide); instances get a CPU share
proportional to their memory, enforced by a CFS quota where the host allows one (detected once,
when the first serverless variant is built). The request rules are ``serverless_config``'s.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from endpointlab.config import available_cpus
from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.endpoints import serverless_config as rules
from endpointlab.emulator.endpoints.base import (
    AccountQuota,
    EndpointKind,
    KindContext,
    ModelPackage,
    QuotaClaims,
)
from endpointlab.emulator.endpoints.serverless import ServerlessSettings, ServerlessVariant
from endpointlab.emulator.endpoints.serverless_policy import MAX_PAYLOAD_BYTES
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.records import (
    Endpoint,
    EndpointConfig,
    Model,
    ServerlessConfig,
    Variant,
    VariantState,
)
from endpointlab.emulator.workers.fork.cpu_quota import CpuQuotas

log = logging.getLogger(__name__)


class ServerlessKind(EndpointKind):
    """Serverless endpoints: a ServerlessConfig instead of instances."""

    name = "serverless"
    label = "serverless endpoints"
    max_payload_bytes = MAX_PAYLOAD_BYTES
    instance_metrics = False

    def __init__(self, context: KindContext) -> None:
        super().__init__(context)
        options = context.settings.serverless
        self._settings = ServerlessSettings(
            keep_warm_s=options.keep_warm_s,
            mb_per_vcpu=options.mb_per_vcpu,
            host_cpus=available_cpus(),
            invocation_timeout_s=context.settings.invocation_timeout_s,
        )
        self._cpu_quotas: CpuQuotas | None = None

    @staticmethod
    def claims(variant: Variant | VariantState) -> bool:
        return variant.serverless is not None

    @staticmethod
    def oversize_request(size: int) -> ServiceError:
        return errors.OVERSIZE_BODY(request_id=uuid.uuid4())

    @staticmethod
    def describe(state: VariantState) -> dict[str, Any]:
        current = state.serverless
        assert current is not None  # claimed only with a ServerlessConfig
        return {
            "CurrentServerlessConfig": _wire(current),
            "DesiredServerlessConfig": _wire(state.desired_serverless or current),
        }

    scalable_dimension = "sagemaker:variant:DesiredProvisionedConcurrency"
    capacity_noun = "provisioned concurrency"  # UNCONFIRMED in activity descriptions

    @staticmethod
    def capacity(state: VariantState) -> int:
        config = state.desired_serverless or state.serverless
        return (config.provisioned_concurrency or 0) if config else 0

    @staticmethod
    def capacity_update(state: VariantState, capacity: int) -> dict[str, Any]:
        update = {"ProvisionedConcurrency": capacity}
        return {"VariantName": state.name, "ServerlessUpdateConfig": update}

    def build(self, variant: Variant, package: ModelPackage) -> ServerlessVariant:
        if self._cpu_quotas is None:
            enforce = self.context.settings.serverless.cpu_quota
            self._cpu_quotas = CpuQuotas.detect() if enforce else CpuQuotas(None)
            if enforce and not self._cpu_quotas.enforced:
                log.warning("serverless CPU shares: %s", self._cpu_quotas.mechanism)
        context = self.context
        return ServerlessVariant(
            variant,
            package,
            context.host,
            self._settings,
            self._cpu_quotas,
            context.memory_limits,
            context.provisioning.serverless_cold_start,
        )

    def close(self) -> None:
        if self._cpu_quotas is not None:
            self._cpu_quotas.close()

    @staticmethod
    def requested(variant: Mapping[str, Any], config: Mapping[str, Any]) -> bool:
        return variant.get("ServerlessConfig") is not None

    @staticmethod
    def variant_from_request(
        params: Mapping[str, Any], model: Model, config: Mapping[str, Any]
    ) -> Variant:
        return rules.variant_from_request(params, model)

    @staticmethod
    def check_config(variants: Sequence[Variant], params: Mapping[str, Any]) -> None:
        rules.check_config(variants, params)

    @classmethod
    def check_update(cls, endpoint: Endpoint, config: EndpointConfig) -> None:
        rules.check_update(endpoint, config, any(cls.claims(s) for s in endpoint.variants))

    @staticmethod
    def desired(state: VariantState, item: Mapping[str, Any]) -> VariantState:
        return rules.desired(state, item)

    @staticmethod
    def retained(variant: Variant, state: VariantState, properties: frozenset[str]) -> Variant:
        return rules.retained(variant, state, properties)

    @staticmethod
    def claims_on_quotas(variant: Variant | VariantState) -> QuotaClaims:
        if isinstance(variant, VariantState):
            return rules.claims(variant.desired_serverless or variant.serverless)
        return rules.claims(variant.serverless)

    @staticmethod
    def update_claims(state: VariantState) -> QuotaClaims:
        return rules.claims(state.desired_serverless)

    def quotas(self) -> Sequence[AccountQuota]:
        return rules.quotas(self.context.settings.serverless)


def _wire(config: ServerlessConfig) -> dict[str, Any]:
    result: dict[str, Any] = {
        "MemorySizeInMB": config.memory_size_mb,
        "MaxConcurrency": config.max_concurrency,
    }
    if config.provisioned_concurrency is not None:
        result["ProvisionedConcurrency"] = config.provisioned_concurrency
    return result

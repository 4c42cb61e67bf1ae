"""What a simulation runs: an endpoint configuration of one kind and the clients calling it.

Defaults are the emulator's and AWS's (facts file section 4): 60 s invocations for real-time
and serverless, 900 s and a 6 h queue TTL for async, 300 s serverless keep-warm (the
emulator's setting; AWS does not publish it). Provisioning time of a new instance is UNCONFIRMED
on AWS: 0 by default, as the emulator's "instant" provisioning, and set with ``provisioning_s``;
each new instance also loads the model (a cold-start draw).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from endpointlab.simulate.retries import RetryConfig
from endpointlab.simulate.scaling import TargetTracking


@dataclass(frozen=True)
class ServerlessSpec:
    max_concurrency: int
    memory_mb: int = 2048
    provisioned_concurrency: int = 0
    keep_warm_s: float = 300.0
    invocation_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if not 1 <= self.max_concurrency <= 200:
            raise ValueError("MaxConcurrency is 1-200")
        if not 0 <= self.provisioned_concurrency <= self.max_concurrency:
            raise ValueError("ProvisionedConcurrency is 0-MaxConcurrency")


@dataclass(frozen=True)
class RealtimeSpec:
    """Instances of ``workers`` each; ``scaling`` None keeps ``instances`` fixed."""

    instances: int = 1
    workers: int = 1
    instance_type: str = "ml.m5.large"
    scaling: TargetTracking | None = None
    provisioning_s: float = 0.0
    invocation_timeout_s: float = 60.0

    def __post_init__(self) -> None:
        if self.instances < 1 or self.workers < 1:
            raise ValueError("a real-time variant needs at least one instance and one worker")


@dataclass(frozen=True)
class AsyncSpec:
    """MaxConcurrentInvocationsPerInstance ``per_instance``; scaling may reach zero instances."""

    instances: int = 1
    per_instance: int = 1
    instance_type: str = "ml.m5.large"
    scaling: TargetTracking | None = None
    provisioning_s: float = 0.0
    invocation_timeout_s: float = 900.0
    ttl_s: float = 21600.0

    def __post_init__(self) -> None:
        if self.instances < 0 or self.per_instance < 1:
            raise ValueError("async needs instances >= 0 and per-instance concurrency >= 1")


@dataclass(frozen=True)
class ClientSpec:
    """The callers: botocore's retry mode and a caller deadline (None: wait for the answer)."""

    retry: RetryConfig = field(default_factory=RetryConfig)
    deadline_s: float | None = None

    def __post_init__(self) -> None:
        if self.deadline_s is not None and not self.deadline_s > 0:
            raise ValueError("the deadline must be positive")


EndpointSpec = ServerlessSpec | RealtimeSpec | AsyncSpec

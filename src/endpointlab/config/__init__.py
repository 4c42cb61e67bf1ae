"""Settings built once at the edge from flags and the environment, then passed down frozen.

This package is the only place that reads ``os.environ``: SageMaker configures a serving
container through environment variables (container.py), ``serve`` through flags and a few
variables (emulator.py, with its option groups in options.py; what they share in base.py).
"""

from endpointlab.config.base import (
    DEFAULT_EMULATOR_PORT,
    DEFAULT_MAX_MODEL_BYTES,
    DEFAULT_METRICS_RETENTION_S,
    DEFAULT_MODEL_UNPACK_TIMEOUT_S,
    DEFAULT_REGION,
    DEFAULT_STARTUP_TIMEOUT_S,
    DEFAULT_TIMEOUT_S,
    SettingsError,
    available_cpus,
    is_loopback,
    model_roots,
    parse_duration,
    parse_size,
)
from endpointlab.config.container import (
    DEFAULT_ACCEPT,
    DEFAULT_PORT,
    DEFAULT_PROGRAM,
    ContainerSettings,
)
from endpointlab.config.emulator import (
    EmulatorSettings,
)
from endpointlab.config.options import (
    AWS_INSTANCE_LAUNCH,
    AWS_SERVERLESS_COLD_START,
    DEFAULT_ASYNC_TIMEOUT_S,
    DEFAULT_ASYNC_TTL_S,
    DEFAULT_BODY_TIMEOUT_S,
    DEFAULT_HEADER_TIMEOUT_S,
    DEFAULT_KEEP_ALIVE_S,
    DEFAULT_MAX_CONNECTIONS,
    DEFAULT_PRELOAD,
    DEFAULT_SERVERLESS_CONCURRENCY,
    DEFAULT_SERVERLESS_ENDPOINTS,
    DEFAULT_SERVERLESS_KEEP_WARM_S,
    DEFAULT_SERVERLESS_MB_PER_VCPU,
    AsyncOptions,
    DelayRange,
    HttpLimits,
    ProvisioningOptions,
    ServerlessOptions,
    TrackingAlarms,
    parse_preload,
)

__all__ = [
    "AWS_INSTANCE_LAUNCH",
    "AWS_SERVERLESS_COLD_START",
    "DEFAULT_ACCEPT",
    "DEFAULT_ASYNC_TIMEOUT_S",
    "DEFAULT_ASYNC_TTL_S",
    "DEFAULT_BODY_TIMEOUT_S",
    "DEFAULT_EMULATOR_PORT",
    "DEFAULT_HEADER_TIMEOUT_S",
    "DEFAULT_KEEP_ALIVE_S",
    "DEFAULT_MAX_CONNECTIONS",
    "DEFAULT_MAX_MODEL_BYTES",
    "DEFAULT_METRICS_RETENTION_S",
    "DEFAULT_MODEL_UNPACK_TIMEOUT_S",
    "DEFAULT_PORT",
    "DEFAULT_PRELOAD",
    "DEFAULT_PROGRAM",
    "DEFAULT_REGION",
    "DEFAULT_SERVERLESS_CONCURRENCY",
    "DEFAULT_SERVERLESS_ENDPOINTS",
    "DEFAULT_SERVERLESS_KEEP_WARM_S",
    "DEFAULT_SERVERLESS_MB_PER_VCPU",
    "DEFAULT_STARTUP_TIMEOUT_S",
    "DEFAULT_TIMEOUT_S",
    "AsyncOptions",
    "ContainerSettings",
    "DelayRange",
    "EmulatorSettings",
    "HttpLimits",
    "ProvisioningOptions",
    "ServerlessOptions",
    "SettingsError",
    "TrackingAlarms",
    "available_cpus",
    "is_loopback",
    "model_roots",
    "parse_duration",
    "parse_preload",
    "parse_size",
]

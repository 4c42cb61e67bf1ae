"""The metrics the emulator measures and publishes, as SageMaker publishes them to CloudWatch.

The data plane calls the ``MetricsRecorder`` (a list append per event); a background flush
writes raw samples to SQLite (``MetricStore``) for the CloudWatch API and keeps running totals
for Prometheus. ``UtilizationSampler`` measures worker processes; ``statistics``, ``periods``
and ``expressions`` are the pure maths behind GetMetricStatistics and GetMetricData.
"""

from endpointlab.emulator.metrics.catalogue import (
    ENDPOINTS_NAMESPACE,
    SAGEMAKER_NAMESPACE,
    MetricKey,
    Outcome,
)
from endpointlab.emulator.metrics.recorder import MetricsRecorder
from endpointlab.emulator.metrics.sampler import InstanceProcesses, UtilizationSampler
from endpointlab.emulator.metrics.statistics import Sample, Statistic, compute, parse_statistic
from endpointlab.emulator.metrics.store import MetricStore

__all__ = [
    "ENDPOINTS_NAMESPACE",
    "SAGEMAKER_NAMESPACE",
    "InstanceProcesses",
    "MetricKey",
    "MetricStore",
    "MetricsRecorder",
    "Outcome",
    "Sample",
    "Statistic",
    "UtilizationSampler",
    "compute",
    "parse_statistic",
]

"""What a projection is fed from a measured run's records: service and cold-start times.

Service times are the ``service_ms`` (from the actual send) of warm, successful, never-throttled
requests; cold starts the ``cold_start_ms`` the emulator reported. Both are resampled as
measured, never fitted. A client's service time includes HTTP and network time during which no
instance or worker is held; when the run pulled the server's ModelLatency, the samples are
scaled to its mean for the time an instance is held, and the difference of the means is added
back to every latency as a client-side overhead. Real-time service times include any queueing
the run caused, so pick a phase that stayed within the instance's workers (``phase``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from endpointlab.results.records import RequestRecord
from endpointlab.simulate.distributions import Constant, Distribution, Empirical


class ProjectionError(ValueError):
    """A projection that cannot be made; the message is one line for the user."""


@dataclass(frozen=True)
class Inputs:
    """The measured distributions of one configuration and what to say about them."""

    service: Distribution
    cold: Distribution
    samples: int
    cold_samples: int
    notes: tuple[str, ...] = field(default_factory=tuple)
    overhead_s: float = 0.0


def inputs_from(
    records: list[RequestRecord],
    name: str,
    phase: str | None = None,
    model_latency_ms: float | None = None,
) -> Inputs:
    chosen = [r for r in records if phase is None or r.phase == phase]
    if phase is not None and not chosen:
        raise ProjectionError(f"configuration {name!r} has no requests in phase {phase!r}")
    warm = [
        r.service_ms / 1000.0
        for r in chosen
        if r.ok and not r.cold_start and r.throttled_attempts == 0 and r.attempts == 1
    ]
    if not warm:
        raise ProjectionError(
            f"configuration {name!r} has no warm successful request to learn from"
        )
    colds = [r.cold_start_ms / 1000.0 for r in records if r.cold_start and r.cold_start_ms]
    notes = []
    cold: Distribution
    if colds:
        cold = Empirical.of(colds)
    else:
        cold = Constant(0.0)
        notes.append("no cold start was measured: new instances are assumed to load instantly")
    service = Empirical.of(warm)
    overhead = 0.0
    if model_latency_ms is not None and 0 < model_latency_ms / 1000.0 < service.mean:
        scale = model_latency_ms / 1000.0 / service.mean
        overhead = service.mean - model_latency_ms / 1000.0
        service = Empirical.of([value * scale for value in warm])
        notes.append(
            f"service times scaled by {scale:.3f} to the server's mean ModelLatency "
            f"({model_latency_ms:.1f} ms); {overhead * 1000:.1f} ms of client-side time added"
        )
    else:
        notes.append("no server ModelLatency: instances are held for the client's service time")
    return Inputs(service, cold, len(warm), len(colds), tuple(notes), overhead)

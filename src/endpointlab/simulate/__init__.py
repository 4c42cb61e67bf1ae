"""Discrete-event projections of the three endpoint kinds, fed by measured distributions.

Pure (no clock, sockets, processes or files beyond reading a run's records) and seeded: the
same inputs give the same result. ``project`` turns a measured run into a projected one;
``simulate_serverless``, ``simulate_realtime`` and ``simulate_async`` are the event loops.
"""

from endpointlab.simulate.arrivals import (
    ClosedTraffic,
    OpenTraffic,
    Phase,
    TraceTraffic,
    TrafficError,
    per_minute,
)
from endpointlab.simulate.asynchronous import simulate_async
from endpointlab.simulate.inputs import ProjectionError
from endpointlab.simulate.project import Request, project
from endpointlab.simulate.realtime import simulate_realtime
from endpointlab.simulate.serverless import simulate_serverless

__all__ = [
    "ClosedTraffic",
    "OpenTraffic",
    "Phase",
    "ProjectionError",
    "Request",
    "TraceTraffic",
    "TrafficError",
    "per_minute",
    "project",
    "simulate_async",
    "simulate_realtime",
    "simulate_serverless",
]

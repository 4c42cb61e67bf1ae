"""The SageMaker container (``endpointlab container``): one model served over HTTP by workers.

``run_container`` serves it in this process; ``ContainerProcess`` runs it as a subprocess;
``spawn_worker`` and ``Supervisor`` fork and keep workers from a preloaded parent for any
transport. Importing this package does not import numpy; ``http``, ``invoker`` and ``child`` do,
so import them directly.
"""

from endpointlab.emulator.workers.container.launcher import ContainerProcess, ContainerStartError
from endpointlab.emulator.workers.container.measure import MemoryUsage, memory_usage
from endpointlab.emulator.workers.container.process import WorkerProcess, WorkerStatus, spawn_worker
from endpointlab.emulator.workers.container.run import run_container
from endpointlab.emulator.workers.container.supervisor import (
    Supervisor,
    SupervisorOptions,
    WorkerInfo,
    WorkerStartupError,
)

__all__ = [
    "ContainerProcess",
    "ContainerStartError",
    "MemoryUsage",
    "Supervisor",
    "SupervisorOptions",
    "WorkerInfo",
    "WorkerProcess",
    "WorkerStartupError",
    "WorkerStatus",
    "memory_usage",
    "run_container",
    "spawn_worker",
]

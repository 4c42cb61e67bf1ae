"""Worker processes that load one model through the handler contract and serve it; no AWS here.

``run_container`` is the SageMaker container (``endpointlab container``); ``spawn_worker`` and
``Supervisor`` fork and keep workers from a preloaded parent for any transport. Importing this
package does not import numpy; ``http``, ``invoker`` and ``child`` do, so import them directly.
"""

from endpointlab.emulator.workers.container import run_container
from endpointlab.emulator.workers.launcher import ContainerProcess, ContainerStartError
from endpointlab.emulator.workers.measure import MemoryUsage, memory_usage
from endpointlab.emulator.workers.process import WorkerProcess, WorkerStatus, spawn_worker
from endpointlab.emulator.workers.supervisor import (
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

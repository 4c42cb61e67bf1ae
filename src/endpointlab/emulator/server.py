"""Assemble the emulator (store, registry, lifecycle, services, codecs) and serve it with uvicorn.

``Emulator`` is the whole local cloud behind one ASGI app; ``run_emulator`` binds the socket,
announces the URL once the app has started (endpoints restored from the data directory), and
runs until SIGINT/SIGTERM, then stops every worker.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from pathlib import Path

import uvicorn

from endpointlab.config import EmulatorSettings
from endpointlab.emulator.app import EmulatorApp, JsonRoute, RestRoute
from endpointlab.emulator.control.artifacts import ArtifactCache
from endpointlab.emulator.control.lifecycle import Lifecycle, utc_now
from endpointlab.emulator.control.registry import Registry
from endpointlab.emulator.control.resources import Variant
from endpointlab.emulator.control.store import Store
from endpointlab.emulator.endpoints.base import DeploymentError, ModelPackage, VariantRuntime
from endpointlab.emulator.endpoints.fleet import FleetManager
from endpointlab.emulator.endpoints.realtime import RealtimeSettings, RealtimeVariant
from endpointlab.emulator.services.sagemaker import SageMakerService
from endpointlab.emulator.services.sagemaker_runtime import SageMakerRuntimeService
from endpointlab.emulator.wire import JsonRpcCodec, RestJsonCodec, service_model
from endpointlab.emulator.workers.host import WorkerHost

log = logging.getLogger(__name__)

# The emulator accepts local paths and file:// URLs as ModelDataUrl besides s3:// (documented).
MODEL_DATA_URL_OVERRIDES = {"Url": r".+"}


class Emulator:
    """Every part of the local cloud, wired together; ``app`` is what uvicorn serves."""

    def __init__(self, settings: EmulatorSettings) -> None:
        self.settings = settings
        data_dir = settings.data_dir
        self.host = WorkerHost()
        self.store = Store(data_dir / "state.sqlite3")
        self.registry = Registry(self.store, settings.region)
        self.fleets = FleetManager(self._variant_factory)
        self.artifacts = ArtifactCache(data_dir / "artifacts")
        self.lifecycle = Lifecycle(self.registry, self.fleets, self.artifacts, utc_now)
        self._realtime = RealtimeSettings(
            invocation_timeout_s=settings.invocation_timeout_s,
            startup_timeout_s=settings.startup_timeout_s,
        )
        sagemaker = JsonRpcCodec(
            service_model("sagemaker"), pattern_overrides=MODEL_DATA_URL_OVERRIDES
        )
        runtime = RestJsonCodec(
            service_model("sagemaker-runtime"), validation_code="ValidationError"
        )
        self.app = EmulatorApp(
            {"SageMaker": JsonRoute(sagemaker, SageMakerService(self.lifecycle, utc_now))},
            [RestRoute(runtime, SageMakerRuntimeService(self.registry, self.fleets))],
            on_startup=self.start,
            on_shutdown=self.stop,
        )

    def _variant_factory(self, variant: Variant, package: ModelPackage) -> VariantRuntime:
        if variant.serverless is not None:
            raise DeploymentError(
                f"Production variant {variant.name} is serverless; serverless endpoints are not "
                "available in this version of the emulator."
            )
        return RealtimeVariant(variant, package, self.host, self._realtime)

    async def start(self) -> None:
        await asyncio.to_thread(self.host.warm_up)
        await self.lifecycle.restore()

    async def stop(self) -> None:
        await self.lifecycle.drain()
        await self.fleets.shutdown()
        self.store.close()


def bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.setblocking(False)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, on_ready: Callable[[], None]) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._on_ready()


def run_emulator(settings: EmulatorSettings, ready: Callable[[str], None]) -> int:
    """Serve until interrupted; returns the process exit status."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sock = bind(settings.host, settings.port)
    emulator = Emulator(settings)
    config = uvicorn.Config(
        emulator.app,
        loop="uvloop",
        http="httptools",
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=75,
    )
    server = _Server(config, lambda: ready(url_of(sock)))
    server.run(sockets=[sock])
    return 0 if server.started else 1


def data_dir_lock(data_dir: Path) -> Path:
    return data_dir / "serve.lock"

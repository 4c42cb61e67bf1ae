"""Assemble the emulator (store, registry, lifecycle, services, codecs) and serve it with uvicorn.

``Emulator`` is the whole local cloud behind one ASGI app; ``run_emulator`` binds the socket,
announces the URL once the app has started (endpoints restored from the data directory), and
runs until SIGINT/SIGTERM, then stops every worker.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

import uvicorn

from endpointlab.config import EmulatorSettings, available_cpus
from endpointlab.emulator.app import EmulatorApp, JsonRoute, ProtocolRoute, RequestHead, RestRoute
from endpointlab.emulator.auth import AuthConfig, Authenticator, load_auth_file
from endpointlab.emulator.control.artifacts import ArtifactCache
from endpointlab.emulator.control.lifecycle import Lifecycle, utc_now
from endpointlab.emulator.control.registry import Registry
from endpointlab.emulator.control.resources import Variant
from endpointlab.emulator.control.store import Store
from endpointlab.emulator.endpoints.base import ModelPackage, VariantRuntime
from endpointlab.emulator.endpoints.fleet import FleetManager
from endpointlab.emulator.endpoints.realtime import RealtimeSettings, RealtimeVariant
from endpointlab.emulator.endpoints.serverless import ServerlessSettings, ServerlessVariant
from endpointlab.emulator.monitoring import Monitoring, running_instances
from endpointlab.emulator.objects import (
    LocalObjectStore,
    ObjectStore,
    RemoteObjectStore,
    Uploads,
    artifact_fetcher,
)
from endpointlab.emulator.objects.remote import s3_client
from endpointlab.emulator.services.s3 import S3Route
from endpointlab.emulator.services.sagemaker import SageMakerService
from endpointlab.emulator.services.sagemaker_runtime import EXTRA_HEADERS, SageMakerRuntimeService
from endpointlab.emulator.services.sts import StsService
from endpointlab.emulator.wire import (
    JsonRpcCodec,
    QueryCodec,
    RestJsonCodec,
    WireResponse,
    service_model,
)
from endpointlab.emulator.wire.rest_xml import RestXmlCodec
from endpointlab.emulator.workers.cpu_quota import CpuQuotas
from endpointlab.emulator.workers.host import WorkerHost

log = logging.getLogger(__name__)

# The emulator accepts local paths and file:// URLs as ModelDataUrl besides s3:// (documented).
MODEL_DATA_URL_OVERRIDES = {"Url": r".+"}


class RuntimeCodec(RestJsonCodec):
    """The runtime's restJson codec, also writing the unmodeled headers a service puts under
    ``EXTRA_HEADERS`` in its result (the serverless cold-start header)."""

    def serialize(
        self, operation: Any, result: Mapping[str, Any], *, request_id: str | None = None
    ) -> WireResponse:
        extra = result.get(EXTRA_HEADERS)
        if not extra:
            return super().serialize(operation, result, request_id=request_id)
        members = {k: v for k, v in result.items() if k != EXTRA_HEADERS}
        reply = super().serialize(operation, members, request_id=request_id)
        return WireResponse(reply.status, [*reply.headers, *extra.items()], reply.body)


class Emulator:
    """Every part of the local cloud, wired together; ``app`` is what uvicorn serves."""

    def __init__(self, settings: EmulatorSettings, *, auth: AuthConfig | None = None) -> None:
        self.settings = settings
        if auth is None and settings.auth_file is not None:
            auth = load_auth_file(settings.auth_file)  # AuthFileError before any state is made
        self.authenticator = None if auth is None else Authenticator(auth, settings.region)
        data_dir = settings.data_dir
        self.host = WorkerHost()
        self.store = Store(data_dir / "state.sqlite3")
        self.registry = Registry(self.store, settings.region, settings.serverless)
        self.fleets = FleetManager(self._variant_factory)
        # S3: the emulator's own buckets; artifacts and async outputs use them too, unless
        # --s3-endpoint names an external S3.
        self.s3_store = LocalObjectStore(data_dir / "s3")
        self.s3_uploads = Uploads(self.s3_store)
        self.objects: ObjectStore = self.s3_store
        if settings.s3_endpoint is not None:
            client = s3_client(settings.s3_endpoint, settings.region)
            self.objects = RemoteObjectStore(client, data_dir / "s3-cache")
        self.artifacts = ArtifactCache(
            data_dir / "artifacts", fetch_object=artifact_fetcher(self.objects)
        )
        self.lifecycle = Lifecycle(self.registry, self.fleets, self.artifacts, utc_now)
        self.monitoring = Monitoring(
            settings, lambda: running_instances(self.registry, self.fleets)
        )
        metrics = self.monitoring.recorder
        self._realtime = RealtimeSettings(
            invocation_timeout_s=settings.invocation_timeout_s,
            startup_timeout_s=settings.startup_timeout_s,
        )
        options = settings.serverless
        self._serverless = ServerlessSettings(
            keep_warm_s=options.keep_warm_s,
            mb_per_vcpu=options.mb_per_vcpu,
            host_cpus=available_cpus(),
            invocation_timeout_s=settings.invocation_timeout_s,
        )
        self._cpu_quotas: CpuQuotas | None = None
        sagemaker = JsonRpcCodec(
            service_model("sagemaker"), pattern_overrides=MODEL_DATA_URL_OVERRIDES
        )
        runtime = RuntimeCodec(
            service_model("sagemaker-runtime"),
            validation_code="ValidationError",
            # The runtime service checks the payload size itself (6 MB, or 4 MB serverless).
            unbounded=frozenset({"BodyBlob"}),
        )
        self.app = EmulatorApp(
            {
                "SageMaker": JsonRoute(sagemaker, SageMakerService(self.lifecycle, utc_now)),
                **self.monitoring.json_routes,
            },
            [RestRoute(runtime, SageMakerRuntimeService(self.registry, self.fleets, metrics))],
            asgi_routes=[*self.monitoring.asgi_routes, self._s3_route()],
            protocol_routes=[*self.monitoring.protocol_routes, _sts_route()],
            on_startup=self.start,
            on_shutdown=self.stop,
            authenticator=self.authenticator,
        )

    def _s3_route(self) -> S3Route:
        """Last among the ASGI routes: it claims every unsigned GET/PUT/DELETE left over."""
        codec = RestXmlCodec(service_model("s3"))
        return S3Route(
            codec,
            self.s3_store,
            self.s3_uploads,
            region=self.settings.region,
            authenticator=self.authenticator,
        )

    def _variant_factory(self, variant: Variant, package: ModelPackage) -> VariantRuntime:
        if variant.serverless is not None:
            if self._cpu_quotas is None:
                enforce = self.settings.serverless.cpu_quota
                self._cpu_quotas = CpuQuotas.detect() if enforce else CpuQuotas(None)
                if enforce and not self._cpu_quotas.enforced:
                    log.warning("serverless CPU shares: %s", self._cpu_quotas.mechanism)
            return ServerlessVariant(
                variant, package, self.host, self._serverless, self._cpu_quotas
            )
        return RealtimeVariant(variant, package, self.host, self._realtime)

    async def start(self) -> None:
        await asyncio.to_thread(self.host.warm_up)
        await self.lifecycle.restore()
        self.monitoring.start()

    async def stop(self) -> None:
        await self.lifecycle.drain()
        await self.fleets.shutdown()
        if self._cpu_quotas is not None:
            self._cpu_quotas.close()
        await self.monitoring.stop()
        self.store.close()


def _sts_route() -> ProtocolRoute:
    """STS over awsQuery: form posts (or GETs with Action) signed for ``sts``."""
    codec = QueryCodec(service_model("sts"), validation_code="ValidationError")

    def claims(head: RequestHead) -> bool:
        return head.is_query and head.signing_service == "sts"

    return ProtocolRoute(claims, codec, StsService())


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

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # SIGINT/SIGTERM is how `serve` is meant to stop: shut down and return 0. uvicorn would
        # re-raise the signal after shutdown (exit status 1 after "Aborted!", or death by
        # SIGTERM), which tells supervisors the emulator failed.
        if self.should_exit and sig == signal.SIGINT:
            self.force_exit = True  # a second Ctrl-C skips waiting for open connections
        else:
            self.should_exit = True


def run_emulator(settings: EmulatorSettings, ready: Callable[[str], None]) -> int:
    """Serve until interrupted; returns the process exit status.

    A malformed auth file raises ``AuthFileError`` (a ``SettingsError``) before anything binds.
    """
    auth = load_auth_file(settings.auth_file) if settings.auth_file is not None else None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    sock = bind(settings.host, settings.port)
    emulator = Emulator(settings, auth=auth)
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

"""Assemble the emulator (store, registry, lifecycle, services, codecs) and serve it with uvicorn.

``Emulator`` is the whole local cloud behind one ASGI app; ``run_emulator`` locks the data
directory (one server per directory), binds the socket, announces the URL once the app has
started (endpoints restored from the data directory), and runs until SIGINT/SIGTERM, then stops
every worker. Shutdown is bounded whatever the models do: requests get ``GRACEFUL_S`` to finish,
endpoints ``STOP_S`` to stop, then every process left below the server (it is their subreaper)
is killed, and past ``SHUTDOWN_LIMIT_S`` it exits anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import threading
from collections.abc import Callable, Mapping
from types import FrameType
from typing import Any

import uvicorn

from endpointlab.config import EmulatorSettings
from endpointlab.emulator.app import EmulatorApp, JsonRoute, ProtocolRoute, RequestHead, RestRoute
from endpointlab.emulator.auth import AuthConfig, Authenticator, load_auth_file
from endpointlab.emulator.autoscaling.book import AlarmBook
from endpointlab.emulator.autoscaling.clock import ScalingClock
from endpointlab.emulator.autoscaling.resources import ScalingResources
from endpointlab.emulator.autoscaling.scaler import Autoscaler
from endpointlab.emulator.control.artifacts import ArtifactCache
from endpointlab.emulator.control.lifecycle import Lifecycle, utc_now
from endpointlab.emulator.control.registry import Registry
from endpointlab.emulator.control.store import Store
from endpointlab.emulator.data_lock import lock_data_dir
from endpointlab.emulator.endpoints.base import KindContext
from endpointlab.emulator.endpoints.fleet import FleetManager
from endpointlab.emulator.endpoints.kinds import Kinds
from endpointlab.emulator.http_limits import guarded_protocol
from endpointlab.emulator.metrics import MetricsRecorder
from endpointlab.emulator.monitoring import Monitoring, running_instances
from endpointlab.emulator.objects import (
    LocalObjectStore,
    ObjectStore,
    RemoteObjectStore,
    Uploads,
    artifact_fetcher,
)
from endpointlab.emulator.objects.remote import s3_client
from endpointlab.emulator.provisioning import Provisioning
from endpointlab.emulator.services.application_autoscaling import ApplicationAutoScalingService
from endpointlab.emulator.services.cloudwatch_alarms import CloudWatchAlarms
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
from endpointlab.emulator.workers.fork.forking import ForkServer
from endpointlab.emulator.workers.fork.host import WorkerHost
from endpointlab.emulator.workers.fork.memory_limit import MemoryLimits
from endpointlab.emulator.workers.fork.process_tree import become_subreaper, kill_descendants
from endpointlab.models.artifact import ArtifactLimits

log = logging.getLogger(__name__)

# The emulator accepts local paths and file:// URLs as ModelDataUrl besides s3:// (documented).
MODEL_DATA_URL_OVERRIDES = {"Url": r".+"}

# How long a shutdown may take, whatever the models do (requests in flight, workers ignoring
# SIGTERM, models still loading): requests get GRACEFUL_S, then endpoints STOP_S, then whatever
# is left is killed; past SHUTDOWN_LIMIT_S the process exits regardless.
GRACEFUL_S = 3
STOP_S = 3.0
SHUTDOWN_LIMIT_S = 10.0


class RuntimeCodec(RestJsonCodec):
    """The runtime's restJson codec, also writing the unmodeled headers a service puts under
    ``EXTRA_HEADERS`` in its result (the cold-start header)."""

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

    def __init__(
        self,
        settings: EmulatorSettings,
        *,
        auth: AuthConfig | None = None,
        host: WorkerHost | None = None,
    ) -> None:
        """``host``: the worker host (and fork server) to use, owned by the caller; by default
        the emulator makes its own, which ``run_emulator`` stops."""
        self.settings = settings
        if auth is None and settings.auth_file is not None:
            auth = load_auth_file(settings.auth_file)  # AuthFileError before any state is made
        self.authenticator = None if auth is None else Authenticator(auth, settings.region)
        data_dir = settings.data_dir
        self.host = host or WorkerHost(ForkServer(settings.preload))
        self.memory_limits = MemoryLimits.detect()
        self.store = Store(data_dir / "state.sqlite3")
        # S3: the emulator's own buckets; artifacts and async outputs use them too, unless
        # --s3-endpoint names an external S3.
        self.s3_store = LocalObjectStore(data_dir / "s3")
        self.s3_uploads = Uploads(self.s3_store)
        self.objects: ObjectStore = self.s3_store
        if settings.s3_endpoint is not None:
            client = s3_client(settings.s3_endpoint, settings.region)
            self.objects = RemoteObjectStore(client, data_dir / "s3-cache")
        self.artifacts = ArtifactCache(
            data_dir / "artifacts",
            fetch_object=artifact_fetcher(self.objects),
            model_roots=(*settings.model_roots, data_dir),
            limits=ArtifactLimits(settings.max_model_bytes, settings.model_unpack_timeout_s),
            data_dir=data_dir,
        )
        self.scaling_clock = ScalingClock(settings.scaling_clock)
        self.monitoring = Monitoring(
            settings,
            lambda: running_instances(self.registry, self.fleets),
            alarms=self._alarm_operations,
        )
        metrics = self.monitoring.recorder
        context = KindContext(
            settings,
            self.host,
            self.memory_limits,
            Provisioning(settings.provisioning),
            objects=self.objects,
            metrics=metrics,
        )
        self.kinds = Kinds(context)
        self.registry = Registry(self.store, settings.region, self.kinds.quotas())
        self.fleets = FleetManager(self.kinds.build)
        self.lifecycle = Lifecycle(
            self.registry, self.fleets, self.artifacts, utc_now, logs_root=data_dir / "logs"
        )
        self.scaling = ScalingResources(
            self.registry, self.alarms, self.store, settings.region, settings.tracking_alarms
        )
        self.autoscaler = Autoscaler(self.lifecycle, self.alarms, self.scaling, self.scaling_clock)
        self._scaler_task: asyncio.Task[None] | None = None
        autoscaling = JsonRpcCodec(service_model("application-autoscaling"))
        sagemaker = JsonRpcCodec(
            service_model("sagemaker"), pattern_overrides=MODEL_DATA_URL_OVERRIDES
        )
        runtime = RuntimeCodec(
            service_model("sagemaker-runtime"),
            validation_code="ValidationError",
            # The runtime service checks the payload size itself (the endpoint kind's limit).
            unbounded=frozenset({"BodyBlob"}),
        )
        self.app = EmulatorApp(
            {
                "SageMaker": JsonRoute(sagemaker, SageMakerService(self.lifecycle, utc_now)),
                **self.monitoring.json_routes,
                "AnyScaleFrontendService": JsonRoute(
                    autoscaling, ApplicationAutoScalingService(self.scaling, self.autoscaler)
                ),
            },
            [RestRoute(runtime, SageMakerRuntimeService(self.registry, self.fleets, metrics))],
            asgi_routes=[*self.monitoring.asgi_routes, self._s3_route()],
            protocol_routes=[*self.monitoring.protocol_routes, _sts_route()],
            on_startup=self.start,
            on_shutdown=self.stop,
            authenticator=self.authenticator,
            body_timeout_s=settings.http.body_timeout_s,
        )

    def _alarm_operations(self, recorder: MetricsRecorder) -> CloudWatchAlarms:
        """CloudWatch's alarms over the recorded metrics (the autoscaler evaluates them)."""
        self.alarms = AlarmBook(recorder, self.store, self.scaling_clock, self.settings.region)
        # The autoscaler is made after the monitoring, hence the lambda.
        return CloudWatchAlarms(self.alarms, lambda: self.autoscaler.wake())  # noqa: PLW0108

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

    async def start(self) -> None:
        await asyncio.to_thread(self.host.warm_up)
        await self.lifecycle.restore()
        self.monitoring.start()
        self._scaler_task = asyncio.get_running_loop().create_task(self.autoscaler.run())

    async def stop(self) -> None:
        if self._scaler_task is not None:
            self._scaler_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._scaler_task
        try:
            async with asyncio.timeout(STOP_S):
                await self.lifecycle.drain()
                await self.fleets.shutdown()
        except TimeoutError:
            killed = await asyncio.to_thread(self.host.kill_all)
            log.warning("endpoints did not stop within %g s: killed %d processes", STOP_S, killed)
        self.kinds.close()
        self.memory_limits.close()
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


# A wildcard bind is reached locally through the loopback address of its family.
_REACHABLE = {"0.0.0.0": "127.0.0.1", "::": "::1"}


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    host = _REACHABLE.get(host, host)
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
        elif not self.should_exit:
            self.should_exit = True
            limit = threading.Timer(SHUTDOWN_LIMIT_S, _exit_now)
            limit.daemon = True
            limit.start()


def _exit_now() -> None:
    """The last resort of a shutdown that overran its limit (something blocked the loop)."""
    log.error("shutdown did not finish within %g s: killing what is left", SHUTDOWN_LIMIT_S)
    kill_descendants()
    os._exit(0)


def run_emulator(settings: EmulatorSettings, ready: Callable[[str], None]) -> int:
    """Serve until interrupted; returns the process exit status.

    A malformed auth file raises ``AuthFileError`` (a ``SettingsError``) before anything binds.
    Another server holding the data directory raises ``DataDirInUseError`` (a ``SettingsError``).
    """
    auth = load_auth_file(settings.auth_file) if settings.auth_file is not None else None
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    lock = lock_data_dir(settings.data_dir)  # held until this process ends
    sock = bind(settings.host, settings.port)
    become_subreaper()  # processes a model detaches stay below the server, to be stopped
    emulator = Emulator(settings, auth=auth)
    limits = settings.http
    config = uvicorn.Config(
        emulator.app,
        loop="uvloop",
        http=guarded_protocol(limits.header_timeout_s),
        lifespan="on",
        access_log=False,
        log_level="warning",
        timeout_keep_alive=max(1, round(limits.keep_alive_s)),
        limit_concurrency=limits.max_connections,
        timeout_graceful_shutdown=GRACEFUL_S,
    )
    server = _Server(config, lambda: ready(url_of(sock)))
    try:
        server.run(sockets=[sock])
    finally:
        emulator.host.close()  # the fork server kills whatever is left below it
        kill_descendants()  # and anything that escaped it (its own death, say)
        lock.release()
    return 0 if server.started else 1

"""``run_container``: serve one ``model.tar.gz`` on one port exactly as a SageMaker container does.

Order matters: native thread pools are capped before numpy is imported, the artifact is unpacked
once (a broken one fails here, before any fork), the heavy libraries are imported once in the
parent and the socket is bound; only then are the workers forked, each loading the model itself.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import logging
import os
import socket
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from endpointlab.config import DEFAULT_STARTUP_TIMEOUT_S, ContainerSettings, SettingsError
from endpointlab.emulator.workers.container.process import WorkerTarget
from endpointlab.emulator.workers.container.supervisor import (
    Supervisor,
    SupervisorOptions,
    WorkerInfo,
    WorkerStartupError,
)
from endpointlab.models.artifact import extract_model_archive
from endpointlab.models.errors import ArtifactError

THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
DEFAULT_MAX_PAYLOAD_MB = 6.0
STARTUP_TIMEOUT_S = DEFAULT_STARTUP_TIMEOUT_S
# SageMaker sends SIGTERM, then SIGKILL 30 s later.
STOP_TIMEOUT_S = 30.0
# A worker whose event loop is silent this much longer than the request timeout is hung.
HANG_GRACE_S = 5.0
NATIVE_LIBRARIES = ("numpy", "scipy", "sklearn", "xgboost", "onnxruntime")

logger = logging.getLogger(__name__)


def run_container(
    archive: Path,
    settings: ContainerSettings,
    *,
    ready: Callable[[str], None] | None = None,
) -> int:
    """Serve ``archive`` with ``settings.workers`` forked workers until SIGINT/SIGTERM.

    Calls ``ready(url)`` (default: prints a line with the URL) once every worker has loaded the
    model and answered a ping; port 0 picks a free port and the URL names the real one. Returns
    the exit code. Raises ArtifactError (one line) for a broken artifact or a model that fails to
    load, SettingsError for a port that cannot be bound or a bad SAGEMAKER_* value.
    """
    max_payload = max_payload_bytes(settings.environment)
    late = limit_native_threads(settings.threads_per_worker)  # before anything imports numpy
    sock = bind_socket(settings.host, settings.port)
    try:
        with _model_dir(settings.model_dir) as model_dir:
            try:
                extract_model_archive(archive, model_dir)
            except ArtifactError as exc:
                message = " ".join(str(exc).split())  # some tarfile errors span several lines
                raise ArtifactError(message) from exc
            from endpointlab.models.preload import preload

            preload(model_dir, settings.environment)
            target = _http_worker(model_dir, settings, sock, late, max_payload)
            # Keep the collector off the preloaded objects, so workers do not copy their pages.
            gc.freeze()
            url = container_url(sock)
            announce = ready if ready is not None else _print_ready

            def on_ready(workers: Sequence[WorkerInfo]) -> None:
                for info in workers:
                    logger.info(
                        "worker %d ready %.3f s after fork (model load %.3f s)",
                        info.pid,
                        info.ready_after_s or 0.0,
                        info.load_s or 0.0,
                    )
                announce(url)

            try:
                return Supervisor(target, supervisor_options(settings)).run(on_ready)
            except WorkerStartupError as exc:
                if exc.details:
                    logger.debug("worker start-up failure:\n%s", exc.details)
                raise ArtifactError(str(exc)) from None
    finally:
        gc.unfreeze()
        sock.close()


def _http_worker(
    model_dir: Path, settings: ContainerSettings, sock: socket.socket, late: bool, max_payload: int
) -> WorkerTarget:
    """What each forked worker runs: load the model from ``model_dir``, serve HTTP on ``sock``."""
    from endpointlab.emulator.workers.container.child import ModelSpec, http_model_worker
    from endpointlab.emulator.workers.container.http import HttpOptions

    spec = ModelSpec(model_dir, dict(settings.environment), settings.threads_per_worker, late)
    options = HttpOptions(
        timeout_s=settings.timeout_s,
        max_payload_bytes=max_payload,
        graceful_shutdown_s=min(settings.timeout_s + 1, STOP_TIMEOUT_S - 5),
    )
    return functools.partial(http_model_worker, spec=spec, sock=sock, options=options)


def supervisor_options(settings: ContainerSettings) -> SupervisorOptions:
    """Supervision timings derived from the container settings."""
    return SupervisorOptions(
        workers=settings.workers,
        unresponsive_after_s=settings.timeout_s + HANG_GRACE_S,
        startup_timeout_s=STARTUP_TIMEOUT_S,
        stop_timeout_s=STOP_TIMEOUT_S,
    )


def limit_native_threads(threads: int) -> bool:
    """Set OMP/OpenBLAS/MKL thread counts for this process and the workers it forks.

    Returns True when a native library was already imported, so the variables came too late and
    workers must cap their pools with threadpoolctl instead.
    """
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    late = [name for name in NATIVE_LIBRARIES if name in sys.modules]
    if late:
        logger.warning(
            "%s imported before the thread limits were set; workers will cap thread pools "
            "with threadpoolctl",
            ", ".join(late),
        )
    return bool(late)


def max_payload_bytes(environment: Mapping[str, str]) -> int:
    """SAGEMAKER_MAX_PAYLOAD_IN_MB in bytes (default 6 MB, SageMaker's invocation limit)."""
    raw = environment.get("SAGEMAKER_MAX_PAYLOAD_IN_MB", "").strip()
    if not raw:
        return int(DEFAULT_MAX_PAYLOAD_MB * 1024 * 1024)
    try:
        megabytes = float(raw)
    except ValueError:
        megabytes = -1.0
    if megabytes <= 0:
        raise SettingsError(f"SAGEMAKER_MAX_PAYLOAD_IN_MB must be a positive number, got {raw!r}")
    return int(megabytes * 1024 * 1024)


def bind_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (0 picks a free port), not yet listening.

    Workers call listen() once their model is loaded, so until then connections are refused,
    as they are by a container whose server has not started.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
    except OSError as exc:
        raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        raise SettingsError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from exc
    return sock


def container_url(sock: socket.socket) -> str:
    """The URL clients use to reach ``sock`` (a wildcard address becomes loopback)."""
    host, port = sock.getsockname()[:2]
    if host in ("0.0.0.0", ""):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


def _print_ready(url: str) -> None:
    print(f"endpointlab container ready at {url}", flush=True)


@contextlib.contextmanager
def _model_dir(configured: Path | None) -> Iterator[Path]:
    if configured is not None:
        configured.mkdir(parents=True, exist_ok=True)
        yield configured
        return
    with tempfile.TemporaryDirectory(prefix="endpointlab-model-") as temporary:
        yield Path(temporary)

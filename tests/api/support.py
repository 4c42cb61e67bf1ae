"""What the black-box API tests share: emulators to talk to, boto3 clients, deployments, models.

``EmulatorThread`` serves an in-process ``Emulator`` with uvicorn on a free port in a background
thread; ``ServeProcess`` runs the real ``endpointlab serve`` command. Everything else reaches
the emulator only through boto3 (or raw HTTP for the wire tests), as a user's code would.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import boto3
import psutil
import uvicorn
import uvloop
from botocore.config import Config
from botocore.exceptions import ClientError

from endpointlab.config import EmulatorSettings
from endpointlab.emulator.server import Emulator
from endpointlab.emulator.workers.fork.host import WorkerHost
from endpointlab.models.artifact import pack_model_dir
from tests.example_models import example_model

REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/SageMakerExecutionRole"
IMAGE = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
INSTANCE = "ml.m5.large"
# One worker per instance keeps the tests light on two cores (ml.m5.large would run two).
ONE_WORKER = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}
# The waiters poll DescribeEndpoint; 0.2 s between polls, at most a minute.
FAST_WAIT = {"Delay": 0.2, "MaxAttempts": 300}
STARTUP_DEADLINE_S = 60.0
# The in-process emulators of a session share one worker host and its fork server (started on
# first use, stopped by tests/api/conftest.py at the end of the session).
SHARED_HOST = WorkerHost()
# SageMaker refuses DeleteEndpoint (and any update) in these states.
IN_PROGRESS = ("Creating", "Updating", "SystemUpdating", "RollingBack")


# --- example models ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Example:
    """A built example model: its archive and the InvokeEndpoint arguments it ships with."""

    name: str
    archive: Path
    requests: list[dict[str, str]]


class Examples:
    """The example models, built once for every test (see tests/example_models.py)."""

    def __init__(self) -> None:
        self._built: dict[str, Example] = {}

    def __getitem__(self, name: str) -> Example:
        if name not in self._built:
            built = example_model(name)
            self._built[name] = Example(name, built.archive, load_requests(built.invoke_args))
        return self._built[name]


def load_requests(path: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def handler_archive(directory: Path, source: str, *, files: dict[str, str] | None = None) -> Path:
    """A model.tar.gz whose code/inference.py is ``source`` (dedented), plus extra files."""
    model_dir = directory / "model"
    (model_dir / "code").mkdir(parents=True, exist_ok=True)
    (model_dir / "code" / "inference.py").write_text(textwrap.dedent(source))
    for name, text in (files or {}).items():
        (model_dir / name).write_text(text)
    return pack_model_dir(model_dir, directory / "model.tar.gz")


# A model that answers who served the request: its version label, its pid, what it was sent.
# It echoes custom attributes back (prefixed) as a container may, and sleeps or exits when asked
# to through the request body, so tests can make it slow or crash it on demand.
PROBE_SOURCE = """
import json
import os
import time

VERSION = {version!r}
LOAD_DELAY_S = {load_delay_s!r}


def model_fn(model_dir):
    time.sleep(LOAD_DELAY_S)
    return VERSION


def transform_fn(model, data, content_type, accept, context):
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    command = text.strip()
    if command.startswith("sleep "):
        time.sleep(float(command.split()[1]))
    elif command == "exit":
        os._exit(17)
    elif command == "fail":
        raise ValueError("asked to fail")
    attributes = context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes")
    if attributes is not None:
        context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", "echo:" + attributes)
    answer = {{
        "version": model,
        "pid": os.getpid(),
        "body": text if len(text) <= 4096 else None,
        "length": len(text),
        "content_type": content_type,
        "accept": accept,
        "custom_attributes": attributes,
    }}
    return json.dumps(answer), "application/json"
"""

FAILING_LOAD_SOURCE = """
def model_fn(model_dir):
    raise RuntimeError("the weights file is corrupt")


def predict_fn(data, model):
    return data
"""


def probe_archive(directory: Path, version: str = "v1", *, load_delay_s: float = 0.0) -> Path:
    source = PROBE_SOURCE.format(version=version, load_delay_s=load_delay_s)
    return handler_archive(directory, source)


# --- clients ----------------------------------------------------------------------------------


def client(service: str, url: str, **config: Any) -> Any:
    """A boto3 client for ``service`` at ``url``: dummy credentials, us-east-1, no retries."""
    options: dict[str, Any] = {
        "retries": {"total_max_attempts": 1},
        "connect_timeout": 5,
        "read_timeout": 60,
    }
    options.update(config)
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=REGION
    )
    return session.client(service, endpoint_url=url, config=Config(**options))


def error_of(caught: Any) -> dict[str, Any]:
    """``{"Code", "Message", "Status"}`` of a ClientError caught by pytest.raises."""
    error: ClientError = caught.value
    return {
        "Code": error.response["Error"]["Code"],
        "Message": error.response["Error"].get("Message", ""),
        "Status": error.response["ResponseMetadata"]["HTTPStatusCode"],
    }


def arn(kind: str, name: str) -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:{kind}/{name.lower()}"


def unique(stem: str) -> str:
    return f"{stem}-{uuid.uuid4().hex[:10]}"


@dataclass(frozen=True)
class RawResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def error_type(self) -> str:
        """The error code as botocore reads it from a JSON error (after any ``#``)."""
        return str(self.json().get("__type", "")).rsplit("#", 1)[-1]


def raw_request(
    url: str,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: bytes = b"",
) -> RawResponse:
    """One HTTP request on a fresh connection, as a client other than boto3 could send it."""
    host, port = url.removeprefix("http://").rsplit(":", 1)
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return RawResponse(
            response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
        )
    finally:
        connection.close()


# --- deployments ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Deployment:
    endpoint: str
    config: str
    models: tuple[str, ...]


@dataclass
class Deployer:
    """Creates models, configs and endpoints through boto3, and deletes them all afterwards."""

    sagemaker: Any
    models: list[str] = field(default_factory=list)
    configs: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)

    def model(
        self,
        archive: Path,
        *,
        name: str | None = None,
        environment: dict[str, str] | None = None,
    ) -> str:
        name = name or unique("model")
        self.sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={
                "Image": IMAGE,
                "ModelDataUrl": archive.as_uri(),
                "Environment": {**ONE_WORKER, **(environment or {})},
            },
        )
        self.models.append(name)
        return name

    def config(
        self,
        models: str | Sequence[str],
        *,
        name: str | None = None,
        weights: Sequence[float] | None = None,
        instances: int = 1,
        variant_names: Sequence[str] | None = None,
    ) -> str:
        chosen = [models] if isinstance(models, str) else list(models)
        names = list(variant_names or (["AllTraffic"] if len(chosen) == 1 else []))
        names += [f"variant-{i + 1}" for i in range(len(names), len(chosen))]
        variants = [
            {
                "VariantName": variant,
                "ModelName": model,
                "InstanceType": INSTANCE,
                "InitialInstanceCount": instances,
                "InitialVariantWeight": (weights[i] if weights else 1.0),
            }
            for i, (variant, model) in enumerate(zip(names, chosen, strict=True))
        ]
        name = name or unique("config")
        self.sagemaker.create_endpoint_config(EndpointConfigName=name, ProductionVariants=variants)
        self.configs.append(name)
        return name

    def endpoint(self, config: str, *, name: str | None = None, wait: bool = True) -> str:
        name = name or unique("endpoint")
        self.sagemaker.create_endpoint(EndpointName=name, EndpointConfigName=config)
        self.endpoints.append(name)
        if wait:
            self.wait_in_service(name)
        return name

    def deploy(self, archive: Path, *, wait: bool = True, **config: Any) -> Deployment:
        model = self.model(archive)
        name = self.config(model, **config)
        return Deployment(self.endpoint(name, wait=wait), name, (model,))

    def wait_in_service(self, endpoint: str) -> None:
        waiter = self.sagemaker.get_waiter("endpoint_in_service")
        waiter.wait(EndpointName=endpoint, WaiterConfig=FAST_WAIT)

    def wait_deleted(self, endpoint: str) -> None:
        waiter = self.sagemaker.get_waiter("endpoint_deleted")
        waiter.wait(EndpointName=endpoint, WaiterConfig=FAST_WAIT)

    def cleanup(self) -> None:
        """Delete everything this deployer made (already-deleted resources are fine)."""
        delete_endpoints(self.sagemaker, self.endpoints)
        for config in self.configs:
            with contextlib.suppress(ClientError):
                self.sagemaker.delete_endpoint_config(EndpointConfigName=config)
        for model in self.models:
            with contextlib.suppress(ClientError):
                self.sagemaker.delete_model(ModelName=model)


def wait_settled(sagemaker: Any, endpoint: str, timeout: float = 60.0) -> str:
    """Wait until ``endpoint`` is no longer in progress (as a client must before deleting it);
    return its status ("Missing" once gone)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            status = str(sagemaker.describe_endpoint(EndpointName=endpoint)["EndpointStatus"])
        except ClientError:
            return "Missing"
        if status not in IN_PROGRESS or time.monotonic() >= deadline:
            return status
        time.sleep(0.2)  # polling DescribeEndpoint, as the waiters do


def delete_endpoints(sagemaker: Any, endpoints: Sequence[str]) -> None:
    """Delete ``endpoints`` as careful cleanup code does on AWS: wait out Creating/Updating,
    delete, then wait for each to be gone (already-deleted ones are fine)."""
    for endpoint in endpoints:
        wait_settled(sagemaker, endpoint)
        with contextlib.suppress(ClientError):
            sagemaker.delete_endpoint(EndpointName=endpoint)
    for endpoint in endpoints:
        sagemaker.get_waiter("endpoint_deleted").wait(EndpointName=endpoint, WaiterConfig=FAST_WAIT)


def invoke_json(runtime: Any, endpoint: str, body: str = "hello", **kwargs: Any) -> Any:
    """Invoke a probe model and decode its JSON answer."""
    response = runtime.invoke_endpoint(EndpointName=endpoint, Body=body, **kwargs)
    return json.loads(response["Body"].read())


def still_running(pids: Iterator[int] | set[int] | list[int], timeout: float = 10.0) -> list[int]:
    """Those of ``pids`` still alive after waiting up to ``timeout`` seconds for them to exit.

    A zombie has exited: it only waits to be reaped by its parent, which for the orphans of a
    killed server is PID 1 (here a sandbox init that can take seconds to get to it)."""
    processes = []
    for pid in pids:
        with contextlib.suppress(psutil.NoSuchProcess):
            processes.append(psutil.Process(pid))
    deadline = time.monotonic() + timeout
    while True:
        alive = [p for p in processes if _running(p)]
        if not alive or time.monotonic() >= deadline:
            return [p.pid for p in alive]
        time.sleep(0.02)  # polling for the processes' exit, not simulating work


def _running(process: psutil.Process) -> bool:
    try:
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def descendants(pid: int | None = None) -> set[int]:
    """Every process below ``pid`` (default: this one)."""
    return {p.pid for p in psutil.Process(pid).children(recursive=True)}


# --- an in-process emulator -------------------------------------------------------------------


# The tests build their artifacts in pytest's temporary directories, outside the directory the
# tests run in and outside the emulators' data directories: their emulators allow it as a model
# root (``serve --model-root``), unless a test checks the roots themselves.
TEST_MODEL_ROOT = Path(tempfile.gettempdir()).resolve()
TEST_ROOT_FLAGS = ("--model-root", str(TEST_MODEL_ROOT))


class EmulatorThread:
    """An ``Emulator`` served by uvicorn on 127.0.0.1:<free port> in a background thread;
    ``test_artifacts`` adds ``TEST_MODEL_ROOT`` to its model roots."""

    def __init__(self, settings: EmulatorSettings, *, test_artifacts: bool = True) -> None:
        if test_artifacts:
            settings = replace(settings, model_roots=(*settings.model_roots, TEST_MODEL_ROOT))
        self.emulator = Emulator(settings, host=SHARED_HOST)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(128)
        port = self._socket.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            self.emulator.app,
            lifespan="on",
            http="httptools",
            log_level="warning",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="emulator", daemon=True)

    def _run(self) -> None:
        # The same loop as `endpointlab serve`; it also sets TCP_NODELAY on every connection.
        loop = uvloop.new_event_loop()
        try:
            loop.run_until_complete(self.server.serve(sockets=[self._socket]))
        finally:
            loop.close()

    def start(self) -> str:
        self._thread.start()
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while not self.server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the in-process emulator failed to start")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the in-process emulator did not start within a minute")
            time.sleep(0.01)  # waiting for uvicorn's start-up flag, not simulating work
        return self.url

    def stop(self) -> None:
        self.server.should_exit = True
        self._thread.join(timeout=60)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError("the in-process emulator did not stop within a minute")


@contextlib.contextmanager
def running_emulator(settings: EmulatorSettings) -> Iterator[str]:
    thread = EmulatorThread(settings)
    url = thread.start()
    try:
        yield url
    finally:
        thread.stop()


# --- the real `endpointlab serve` ---------------------------------------------------------------

# For a server whose tests deploy only models that import no ML library: its fork server need
# not spend seconds importing XGBoost, scikit-learn and onnxruntime (``serve --preload``).
LIGHT = ("--preload", "numpy")
LISTENING = "endpointlab emulator listening on "


class ServeProcess:
    """``python -m endpointlab serve --port 0 --data-dir D [ARGS]`` as a child process."""

    def __init__(self, data_dir: Path, log_dir: Path, args: Sequence[str] = ()) -> None:
        self.data_dir = data_dir
        self.args = list(args)
        self._log_dir = log_dir
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self._runs = 0

    def start(self) -> str:
        assert self.process is None, "already running"
        self._runs += 1
        self._stdout = self._log_dir / f"serve-{self._runs}.out"
        self._stderr = self._log_dir / f"serve-{self._runs}.err"
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        command = [sys.executable, "-m", "endpointlab", "serve", "--port", "0"]
        with self._stdout.open("wb") as out, self._stderr.open("wb") as err:
            self.process = subprocess.Popen(
                [*command, "--data-dir", str(self.data_dir), *TEST_ROOT_FLAGS, *self.args],
                stdout=out,
                stderr=err,
                env=env,
            )
        deadline = time.monotonic() + STARTUP_DEADLINE_S
        while True:
            for line in self._stdout.read_text().splitlines():
                if line.startswith(LISTENING):
                    self.url = line[len(LISTENING) :].split()[0]
                    return self.url
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.kill()
                raise RuntimeError(f"endpointlab serve did not start:\n{self.output()}")
            time.sleep(0.02)  # waiting for the announcement line, not simulating work

    def output(self) -> str:
        return self._stdout.read_text() + self._stderr.read_text()

    def descendants(self) -> list[psutil.Process]:
        assert self.process is not None
        return psutil.Process(self.process.pid).children(recursive=True)

    def stop(self, sig: int = signal.SIGINT) -> int:
        """Signal the server, wait for it; return its exit status. Every child must be gone."""
        assert self.process is not None
        children = self.descendants()
        self.process.send_signal(sig)
        try:
            code = self.process.wait(timeout=60)
        finally:
            self.process = None
        alive = still_running([p.pid for p in children], timeout=10)
        assert not alive, f"processes left behind: {alive}"
        return code

    def kill(self) -> None:
        """SIGKILL the server (a crash); its workers must still go away by themselves."""
        if self.process is None:
            return
        children = self.descendants()
        self.process.kill()
        self.process.wait(timeout=30)
        self.process = None
        alive = still_running([p.pid for p in children], timeout=15)
        for orphan in alive:
            with contextlib.suppress(psutil.Error):
                psutil.Process(orphan).kill()
        assert not alive, f"processes left behind by a crashed server: {alive}"

"""Where a plan runs: ``local`` (an ``endpointlab serve`` process of its own) or ``aws``.

``LocalEmulator`` starts the emulator on a free port with a temporary data directory, in its own
session (so Ctrl-C reaches the runner, which tears down first), and stops it and every process
it started at the end. ``Connection`` is what the runner talks to: boto3 clients for SageMaker
and CloudWatch and the load engine's Target for the runtime API.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import psutil  # type: ignore[import-untyped]
from botocore.config import Config

from endpointlab.loadgen.client import Target
from endpointlab.loadgen.signing import Credentials

LISTENING = "endpointlab emulator listening on "
# Run before exec'ing `endpointlab serve`: SIGTERM (its bounded shutdown) reaches it when the
# runner dies, even by SIGKILL; its own session keeps it from the terminal's Ctrl-C, which the
# runner handles first (tearing down). The death signal survives exec; Linux only.
_STOP_WITH_PARENT = """
import ctypes, os, signal, sys
if sys.platform.startswith("linux"):
    ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGTERM), 0, 0, 0)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
os.execv(sys.argv[2], sys.argv[2:])
"""
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0
LOCAL_REGION = "us-east-1"
LOCAL_ROLE = "arn:aws:iam::000000000000:role/endpointlab-bench"
LOCAL_IMAGE = "endpointlab/local-inference:latest"
# botocore's defaults retry throttled control calls; waiters poll on their own.
_CONTROL_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, read_timeout=120)


class TargetError(Exception):
    """The target cannot be reached or set up; the message is one line for the user."""


@dataclass(frozen=True)
class Connection:
    """The clients of one target."""

    kind: str  # "local" | "aws"
    region: str
    sagemaker: Any
    cloudwatch: Any
    runtime: Target
    role_arn: str
    image: str
    provisioning: str  # what the emulator was told ("instant", "aws"); "aws" on AWS itself
    s3: Any = None  # async configurations: their output bucket
    autoscaling: Any = None  # Application Auto Scaling (autoscaled and async configurations)


def local_connection(url: str, provisioning: str) -> Connection:
    """Clients for an emulator at ``url`` (which accepts any credentials)."""
    session = boto3.session.Session(
        aws_access_key_id="test", aws_secret_access_key="test", region_name=LOCAL_REGION
    )
    return Connection(
        kind="local",
        region=LOCAL_REGION,
        sagemaker=session.client("sagemaker", endpoint_url=url, config=_CONTROL_CONFIG),
        cloudwatch=session.client("cloudwatch", endpoint_url=url, config=_CONTROL_CONFIG),
        runtime=Target(url, LOCAL_REGION, Credentials("test", "test", None)),
        role_arn=LOCAL_ROLE,
        image=LOCAL_IMAGE,
        provisioning=provisioning,
        s3=session.client("s3", endpoint_url=url, config=_CONTROL_CONFIG),
        autoscaling=session.client(
            "application-autoscaling", endpoint_url=url, config=_CONTROL_CONFIG
        ),
    )


def aws_connection(session: Any, role_arn: str, image: str) -> Connection:
    """Clients for real SageMaker through a boto3 session (the user's credentials and region)."""
    credentials = session.get_credentials()
    if credentials is None:
        raise TargetError("no AWS credentials found (a profile, environment variables or SSO)")
    if not session.region_name:
        raise TargetError("no AWS region: set AWS_DEFAULT_REGION or aws.region in the plan")
    sagemaker = session.client("sagemaker", config=_CONTROL_CONFIG)
    frozen = credentials.get_frozen_credentials()
    runtime = session.client("sagemaker-runtime")
    return Connection(
        kind="aws",
        region=session.region_name,
        sagemaker=sagemaker,
        cloudwatch=session.client("cloudwatch", config=_CONTROL_CONFIG),
        runtime=Target(
            str(runtime.meta.endpoint_url),
            session.region_name,
            Credentials(frozen.access_key, frozen.secret_key, frozen.token),
            credentials,
        ),
        role_arn=role_arn,
        image=image,
        provisioning="aws",
        s3=session.client("s3", config=_CONTROL_CONFIG),
        autoscaling=session.client("application-autoscaling", config=_CONTROL_CONFIG),
    )


def serve_supports(flag: str) -> bool:
    """Whether this installation's ``endpointlab serve`` has ``flag`` (features arrive apart)."""
    done = subprocess.run(
        [sys.executable, "-m", "endpointlab", "serve", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    return flag in done.stdout


def spawn_tied(command: list[str], log_file: Path) -> subprocess.Popen[bytes]:
    """Start ``command`` in a session of its own, its output to ``log_file``, sent SIGTERM when
    this process dies (Linux)."""
    with log_file.open("wb") as log:
        return subprocess.Popen(
            [sys.executable, "-c", _STOP_WITH_PARENT, str(os.getpid()), *command],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


class LocalEmulator:
    """``endpointlab serve`` on a free port with a temporary data dir, for one run."""

    def __init__(
        self,
        model_roots: list[Path],
        log_file: Path,
        extra: list[str],
        meanwhile: Callable[[], None] | None = None,
    ) -> None:
        self.meanwhile = meanwhile  # work to do while the emulator starts
        self.model_roots = model_roots
        self.log_file = log_file
        self.extra = extra
        self.process: subprocess.Popen[bytes] | None = None
        self.data_dir: Path | None = None
        self.url = ""

    def start(self) -> str:
        self.data_dir = Path(tempfile.mkdtemp(prefix="endpointlab-bench-"))
        roots = [arg for root in self.model_roots for arg in ("--model-root", str(root))]
        command = [sys.executable, "-m", "endpointlab", "serve", "--port", "0"]
        command += ["--data-dir", str(self.data_dir), *roots, *self.extra]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        self.process = spawn_tied(command, self.log_file)
        try:
            return self._wait_for_url()
        except BaseException:  # Ctrl-C while it starts: it must not outlive the run
            self.stop()
            raise

    def _wait_for_url(self) -> str:
        assert self.process is not None
        if self.meanwhile is not None:
            self.meanwhile()
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            for line in self.log_file.read_text(errors="replace").splitlines():
                if line.startswith(LISTENING):
                    self.url = line[len(LISTENING) :].split()[0]
                    return self.url
            if self.process.poll() is not None or time.monotonic() > deadline:
                lines = self.log_file.read_text(errors="replace").strip().splitlines()
                last = lines[-1] if lines else "no output"
                raise TargetError(f"the local emulator did not start: {last}")
            time.sleep(0.05)  # polling the log for the announcement line

    def pids(self) -> list[int]:
        """The emulator and every process under it."""
        if self.process is None or self.process.poll() is not None:
            return []
        try:
            root = psutil.Process(self.process.pid)
            return [root.pid, *(child.pid for child in root.children(recursive=True))]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> list[int]:
        """Stop the emulator (SIGINT: its bounded shutdown), then kill anything of it left;
        return the pids still alive afterwards (none, normally)."""
        process = self.process
        if process is not None:
            tree = [found for pid in self.pids() if (found := _process(pid)) is not None]
            if process.poll() is None:
                process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            _, alive = psutil.wait_procs(tree, timeout=5)
            for leftover in alive:
                leftover.kill()
            _, alive = psutil.wait_procs(alive, timeout=5)
            self.process = None
            left = [p.pid for p in alive if _running(p)]
        else:
            left = []
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir = None
        return left


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.NoSuchProcess:
        return None


def _running(process: psutil.Process) -> bool:
    try:
        return bool(process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False

"""What every setting shares: the error a bad one raises, durations, sizes, the directories
local models may come from, and which hosts are loopback."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Sequence
from pathlib import Path


class SettingsError(ValueError):
    """A setting with a value that cannot be used; the message names the setting."""


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - non-Linux
        return max(1, os.cpu_count() or 1)


# How long a model may take to answer one request (SAGEMAKER_MODEL_SERVER_TIMEOUT; InvokeEndpoint).
DEFAULT_TIMEOUT_S = 60.0
DEFAULT_EMULATOR_PORT = 4566
DEFAULT_REGION = "us-east-1"
# CloudWatch keeps one-minute data for 15 days; the emulator keeps raw samples as long.
DEFAULT_METRICS_RETENTION_S = 15 * 86_400.0
# SageMaker fails an endpoint whose container does not pass /ping within 4 minutes (default).
DEFAULT_STARTUP_TIMEOUT_S = 240.0
_DURATION_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86_400.0, "w": 604_800.0}


def parse_duration(text: str) -> float:
    """Seconds in ``text``: a number of seconds or a number with s, m, h, d or w (``15d``)."""
    raw = text.strip().lower()
    scale = _DURATION_UNITS.get(raw[-1:])
    number = raw[:-1] if scale is not None else raw
    try:
        seconds = float(number) * (scale or 1.0)
    except ValueError as exc:
        raise SettingsError(f"{text!r} is not a duration (e.g. 3600, 90m, 15d)") from exc
    if not seconds > 0 or seconds == float("inf"):
        raise SettingsError(f"the duration {text!r} must be positive")
    return seconds


_SIZE_UNITS = {"k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
# Model artifacts: far above any model a CPU worker serves (see models.artifact.ArtifactLimits).
DEFAULT_MAX_MODEL_BYTES = 50 * 1024**3
DEFAULT_MODEL_UNPACK_TIMEOUT_S = 600.0


def parse_size(text: str) -> int:
    """Bytes in ``text``: a number of bytes or a number with K, M, G or T (binary units)."""
    raw = text.strip().lower().removesuffix("ib").removesuffix("b")
    scale = _SIZE_UNITS.get(raw[-1:])
    number = raw[:-1] if scale is not None else raw
    try:
        size = float(number) * (scale or 1)
    except ValueError as exc:
        raise SettingsError(f"{text!r} is not a size (e.g. 500M, 50G)") from exc
    if not 0 < size < float("inf"):
        raise SettingsError(f"the size {text!r} must be positive")
    return int(size)


def model_roots(directories: Sequence[Path]) -> tuple[Path, ...]:
    """The directories local ModelDataUrls may name: the current directory plus each given one
    (``serve --model-root``), which must exist."""
    roots = [Path.cwd()]
    for directory in directories:
        if not directory.expanduser().is_dir():
            raise SettingsError(f"--model-root {directory} is not a directory")
        roots.append(directory.expanduser().resolve())
    return tuple(roots)


def is_loopback(host: str) -> bool:
    """Whether every address ``host`` names is a loopback one (``localhost`` is)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return False
    return bool(infos) and all(ipaddress.ip_address(i[4][0]).is_loopback for i in infos)

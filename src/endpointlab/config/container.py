"""``endpointlab container``: SageMaker's serving-container contract, read from SAGEMAKER_*
environment variables (``ContainerSettings.from_env``)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from endpointlab.config.base import DEFAULT_TIMEOUT_S, SettingsError, available_cpus

DEFAULT_PROGRAM = "inference.py"
DEFAULT_ACCEPT = "application/json"
DEFAULT_PORT = 8080


@dataclass(frozen=True)
class ContainerSettings:
    """How one model container serves: SageMaker's container contract plus local choices."""

    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    workers: int = 1
    timeout_s: float = DEFAULT_TIMEOUT_S
    threads_per_worker: int = 1
    model_dir: Path | None = None
    environment: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def program(self) -> str:
        return self.environment.get("SAGEMAKER_PROGRAM") or DEFAULT_PROGRAM

    @property
    def default_accept(self) -> str:
        return self.environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or DEFAULT_ACCEPT

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        host: str = "127.0.0.1",
        port: int | None = None,
        workers: int | None = None,
        model_dir: Path | None = None,
    ) -> ContainerSettings:
        """Read SAGEMAKER_* variables; explicit arguments (from flags) win over the environment."""
        env = dict(os.environ if environ is None else environ)
        cpus = available_cpus()
        resolved_port = (
            port if port is not None else _int(env, "SAGEMAKER_BIND_TO_PORT", DEFAULT_PORT)
        )
        resolved_workers = (
            workers if workers is not None else _int(env, "SAGEMAKER_MODEL_SERVER_WORKERS", cpus)
        )
        if resolved_workers < 1:
            raise SettingsError("SAGEMAKER_MODEL_SERVER_WORKERS must be at least 1")
        if not 0 <= resolved_port <= 65535:
            raise SettingsError(f"port {resolved_port} is out of range 0-65535")
        timeout = float(_int(env, "SAGEMAKER_MODEL_SERVER_TIMEOUT", int(DEFAULT_TIMEOUT_S)))
        if timeout <= 0:
            raise SettingsError(
                "SAGEMAKER_MODEL_SERVER_TIMEOUT must be a positive number of seconds"
            )
        sagemaker_env = {k: v for k, v in env.items() if k.startswith("SAGEMAKER_")}
        return cls(
            host=host,
            port=resolved_port,
            workers=resolved_workers,
            timeout_s=timeout,
            threads_per_worker=max(1, cpus // resolved_workers),
            model_dir=model_dir,
            environment=MappingProxyType(sagemaker_env),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingsError(f"{name} must be an integer, got {raw!r}") from exc

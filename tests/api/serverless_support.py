"""What the serverless API tests share: a model that reports its pid, sleeps or allocates memory
on request, and a deployer of serverless endpoints that deletes what it made."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from tests.api.support import FAST_WAIT, IMAGE, ROLE, delete_endpoints, unique

COLD_HEADER = "x-endpointlab-cold-start-ms"

# "pid" answers the worker's pid; "sleep S" sleeps first; "alloc MB" touches MB of memory;
# "big N" answers N bytes. load_mb.txt in the model directory makes model_fn hold that much memory.
MEMORY_SOURCE = """
import json
import os
import time

import numpy as np


def model_fn(model_dir):
    path = os.path.join(model_dir, "load_mb.txt")
    size = int(open(path).read()) if os.path.exists(path) else 0
    return np.ones(size * 1024 * 1024 // 8) if size else None


def transform_fn(model, data, content_type, accept):
    text = data.decode() if isinstance(data, bytes) else data
    words = text.split()
    if words and words[0] == "sleep":
        time.sleep(float(words[1]))
    elif words and words[0] == "big":
        return "x" * int(words[1]), "text/plain"
    elif words and words[0] == "alloc":
        block = np.ones(int(words[1]) * 1024 * 1024 // 8)
        del block
    return json.dumps({"pid": os.getpid(), "length": len(text)}), "application/json"
"""


def cold_start_ms(response: Any) -> float | None:
    """The cold-start time the emulator flagged on an InvokeEndpoint reply (None: warm)."""
    value = response["ResponseMetadata"]["HTTPHeaders"].get(COLD_HEADER)
    return None if value is None else float(value)


@dataclass
class ServerlessDeployer:
    """Deploys serverless endpoints through boto3 and deletes them all afterwards."""

    sagemaker: Any
    archive: Path
    models: list[str] = field(default_factory=list)
    configs: list[str] = field(default_factory=list)
    endpoints: list[str] = field(default_factory=list)

    def model(self, archive: Path | None = None) -> str:
        name = unique("model")
        self.sagemaker.create_model(
            ModelName=name,
            ExecutionRoleArn=ROLE,
            PrimaryContainer={"Image": IMAGE, "ModelDataUrl": (archive or self.archive).as_uri()},
        )
        self.models.append(name)
        return name

    def config(
        self,
        *,
        memory_mb: int = 1024,
        max_concurrency: int = 2,
        provisioned: int | None = None,
        archive: Path | None = None,
        **variant: Any,
    ) -> str:
        serverless = {"MemorySizeInMB": memory_mb, "MaxConcurrency": max_concurrency}
        if provisioned is not None:
            serverless["ProvisionedConcurrency"] = provisioned
        name = unique("config")
        self.sagemaker.create_endpoint_config(
            EndpointConfigName=name,
            ProductionVariants=[
                {
                    "VariantName": "AllTraffic",
                    "ModelName": self.model(archive),
                    "ServerlessConfig": serverless,
                    **variant,
                }
            ],
        )
        self.configs.append(name)
        return name

    def endpoint(self, *, wait: bool = True, config: str | None = None, **options: Any) -> str:
        name = unique("serverless")
        self.sagemaker.create_endpoint(
            EndpointName=name, EndpointConfigName=config or self.config(**options)
        )
        self.endpoints.append(name)
        if wait:
            self.sagemaker.get_waiter("endpoint_in_service").wait(
                EndpointName=name, WaiterConfig=FAST_WAIT
            )
        return name

    def cleanup(self) -> None:
        delete_endpoints(self.sagemaker, self.endpoints)
        for config in self.configs:
            with contextlib.suppress(ClientError):
                self.sagemaker.delete_endpoint_config(EndpointConfigName=config)
        for model in self.models:
            with contextlib.suppress(ClientError):
                self.sagemaker.delete_model(ModelName=model)

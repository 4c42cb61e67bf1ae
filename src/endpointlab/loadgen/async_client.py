"""InvokeEndpointAsync for the load engine, and the S3 polling that finds each request's answer.

``AsyncRuntimeClient.invoke`` submits one request as botocore would (SigV4, the async API's
headers, the same retry decisions as InvokeEndpoint), then polls the OutputLocation and
FailureLocation the reply named through S3 (path-style GetObject, SigV4 for service ``s3``)
every ``poll_s`` until one exists or the caller's deadline passes, as an async client does. The
result keeps the submit latency, the time from acceptance to the answer being found (queue and
processing, to within ``poll_s``) and the outcome apart.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.session import get_session

from endpointlab.loadgen.client import DEADLINE_CODE, Invocation, Result, RuntimeClient, Target
from endpointlab.loadgen.http import ConnectionPool, Response, TransportError
from endpointlab.loadgen.retries import SERVICE, RetrySettings, operation_model
from endpointlab.loadgen.signing import Signer

OUTPUT_HEADER = "x-amzn-sagemaker-outputlocation"
FAILURE_HEADER = "x-amzn-sagemaker-failurelocation"
# The records' outcome of an async request: its output, its failure object, or neither before
# the caller's deadline (lost to it).
COMPLETED, FAILED, LOST = "Completed", "Failed", "DeadlineExceeded"
FAILED_CODE = "AsyncInferenceFailed"  # ours: the failure object exists (AWS has no code)
DEFAULT_POLL_S = 0.2
# Without --deadline, polling for one request gives up after this (SageMaker's longest
# RequestTTLSeconds, 6 hours, plus its longest InvocationTimeoutSeconds, 1 hour).
MAX_WAIT_S = 7 * 3600.0
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()


@functools.cache
def _async_header_members() -> dict[str, str]:
    """InvokeEndpointAsync's header-bound members and their header names (botocore's model)."""
    shape = get_session().get_service_model(SERVICE).operation_model("InvokeEndpointAsync")
    return {
        name: member.serialization["name"]
        for name, member in shape.input_shape.members.items()
        if member.serialization.get("location") == "header"
    }


def async_invocation(args: Mapping[str, Any]) -> Invocation:
    """An InvokeEndpointAsync request from boto3-style arguments:
    ``{"InputLocation": "s3://bucket/in.json", "ContentType": "application/json"}``."""
    members = _async_header_members()
    unknown = sorted(set(args) - set(members) - {"Body", "EndpointName"})
    if unknown:
        raise ValueError(f"unknown InvokeEndpointAsync arguments: {', '.join(unknown)}")
    if "InferenceId" in args:
        raise ValueError("InferenceId cannot be fixed: each request needs its own output")
    if ("Body" in args) == ("InputLocation" in args):
        raise ValueError("an async invocation needs an InputLocation or a Body (one of them)")
    raw = args.get("Body", "")
    body = raw.encode() if isinstance(raw, str) else json.dumps(raw).encode()
    headers = tuple((members[k], str(v)) for k, v in args.items() if k in members)
    return Invocation(body, headers, hashlib.sha256(body).hexdigest())


def as_async(invocation: Invocation) -> Invocation:
    """An InvokeEndpoint request (its body inline) as the same InvokeEndpointAsync request."""
    sync = {
        member.serialization["name"].lower(): name
        for name, member in operation_model().input_shape.members.items()
        if member.serialization.get("location") == "header"
    }
    members = _async_header_members()
    headers = tuple(
        (members[sync[k.lower()]], v)
        for k, v in invocation.headers
        if sync.get(k.lower()) in members
    )
    return Invocation(invocation.body, headers, invocation.payload_hash)


def s3_endpoint_url(target: Target) -> str:
    """Where S3 is for ``target``, as botocore resolves it (AWS_ENDPOINT_URL[_S3] included)."""
    session = get_session()
    s3 = session.create_client("s3", region_name=target.region)
    return str(s3.meta.endpoint_url)


class AsyncRuntimeClient(RuntimeClient):
    """InvokeEndpointAsync for one endpoint, then S3 polling for each request's answer."""

    def __init__(
        self,
        target: Target,
        endpoint_name: str,
        retry: RetrySettings,
        *,
        s3_url: str,
        poll_s: float = DEFAULT_POLL_S,
        connect_timeout: float = 60.0,
        read_timeout: float = 60.0,
    ) -> None:
        super().__init__(
            target,
            endpoint_name,
            retry,
            connect_timeout=connect_timeout,
            read_timeout=read_timeout,
        )
        self.path = self.path.removesuffix("/invocations") + "/async-invocations"
        self.poll_s = poll_s
        self.s3_pool = ConnectionPool(s3_url.rstrip("/"), connect_timeout, read_timeout)
        parts = urlsplit(s3_url)
        self.s3_host = parts.netloc
        self.s3_prefix = parts.path.rstrip("/")
        self.s3_signer = Signer(target.region, "s3")

    async def invoke(self, invocation: Invocation, deadline: float | None = None) -> Result:
        began = time.monotonic()
        result = await super().invoke(invocation, deadline)
        accepted = time.monotonic()
        result.submit_ms = (accepted - began) * 1e3
        if not result.ok:
            if result.error_code == DEADLINE_CODE:
                result.async_outcome = LOST
            return result
        output = result.headers.get(OUTPUT_HEADER)
        failure = result.headers.get(FAILURE_HEADER)
        if output is None:
            result.error_code, result.message = "MissingOutputLocation", "no OutputLocation"
            return result
        give_up = deadline if deadline is not None else accepted + MAX_WAIT_S
        while True:
            for location, outcome in ((output, COMPLETED), (failure, FAILED)):
                if location is None:
                    continue
                try:
                    found = await self._get(location)
                except TransportError as error:
                    found = None
                    result.message = f"polling {location}: {error}"
                if found is None:
                    continue
                if found.status == 404:
                    continue
                if not 200 <= found.status < 300:
                    code = _xml_code(found.body) or str(found.status)
                    result.error_code = code
                    result.message = f"polling {location}: {code}"
                    return result
                result.async_outcome = outcome
                result.output_ms = (time.monotonic() - accepted) * 1e3
                result.body = found.body
                if outcome == FAILED:
                    result.error_code = FAILED_CODE
                    result.message = found.body.decode("utf-8", "replace")
                return result
            if time.monotonic() + self.poll_s > give_up:
                result.async_outcome = LOST
                result.error_code = DEADLINE_CODE
                result.message = "the caller's deadline passed before the answer appeared in S3"
                result.body = b""
                return result
            await asyncio.sleep(self.poll_s)  # the client's polling interval

    async def _get(self, location: str) -> Response | None:
        """GetObject of an ``s3://bucket/key`` URL (None if the URL is not one)."""
        bucket, _, key = location.removeprefix("s3://").partition("/")
        if not location.startswith("s3://") or not bucket or not key:
            return None
        raw = f"{self.s3_prefix}/{bucket}/{key}"
        headers = {"host": self.s3_host, "x-amz-content-sha256": EMPTY_SHA256}
        signed = self.s3_signer.sign(
            "GET", raw, headers, b"", self._current_credentials(), payload_hash=EMPTY_SHA256
        )
        head = "".join(f"{k}: {v}\r\n" for k, v in signed.items() if k != "host")
        path = quote(raw, safe="/~")
        request = f"GET {path} HTTP/1.1\r\nHost: {self.s3_host}\r\n{head}\r\n"
        return await self.s3_pool.request(request.encode("latin-1"))

    def close(self) -> None:
        super().close()
        self.s3_pool.close()


def _xml_code(body: bytes) -> str:
    found = re.search(rb"<Code>([^<]*)</Code>", body)
    return found.group(1).decode("utf-8", "replace") if found else ""

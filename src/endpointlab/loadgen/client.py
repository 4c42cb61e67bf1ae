"""The runtime client of the load engine: the only place that signs and sends requests.

``RuntimeClient.invoke`` sends one InvokeEndpoint as botocore would (SigV4, the runtime API's
headers, botocore's retry decisions) over a keep-alive connection pool, within an optional
caller deadline, and reports attempts apart from the logical request. ``resolve_target`` finds
the endpoint URL, region and credentials through botocore's standard chains.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit

from botocore.session import get_session

from endpointlab.loadgen.http import ConnectionPool, Response, TransportError
from endpointlab.loadgen.retries import (
    SERVICE,
    Outcome,
    RetryMode,
    RetryPolicy,
    RetrySettings,
    operation_model,
)
from endpointlab.loadgen.signing import Credentials, Signer

COLD_START_HEADER = "x-endpointlab-cold-start-ms"
VARIANT_HEADER = "x-amzn-invoked-production-variant"
DEADLINE_CODE = "DeadlineExceeded"
USER_AGENT = "endpointlab-load"
# How often credentials from botocore's chain are re-read (temporary ones refresh).
REREAD_S = 60.0
# The signing name of sagemaker-runtime (its endpoint prefix is runtime.sagemaker).
SIGNING_NAME = "sagemaker"


class TargetError(Exception):
    """The endpoint URL, region or credentials cannot be resolved; the message says which."""


@dataclass(frozen=True)
class Target:
    """Where requests go and how they are signed. ``source`` is botocore's credentials object
    when they came from its chain: temporary ones (a role, SSO) are re-read as they refresh."""

    endpoint_url: str
    region: str
    credentials: Credentials
    source: Any = None


def resolve_target(region: str | None = None, endpoint_url: str | None = None) -> Target:
    """Region, credentials and URL as boto3 resolves them (AWS_ENDPOINT_URL included)."""
    session = get_session()
    resolved_region = region or session.get_config_variable("region")
    if not resolved_region:
        raise TargetError("no AWS region: set AWS_DEFAULT_REGION or pass --region")
    found = session.get_credentials()
    if found is None:
        raise TargetError(
            "no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile; "
            "the emulator accepts any)"
        )
    frozen = found.get_frozen_credentials()
    runtime = session.create_client(SERVICE, region_name=resolved_region, endpoint_url=endpoint_url)
    return Target(
        str(runtime.meta.endpoint_url),
        resolved_region,
        Credentials(frozen.access_key, frozen.secret_key, frozen.token),
        found,
    )


@functools.cache
def _header_members() -> dict[str, str]:
    """InvokeEndpoint's header-bound members and their header names, from botocore's model."""
    shape = operation_model().input_shape
    return {
        name: member.serialization["name"]
        for name, member in shape.members.items()
        if member.serialization.get("location") == "header"
    }


@dataclass(frozen=True)
class Invocation:
    """One request's InvokeEndpoint arguments (all but EndpointName), ready to send often."""

    body: bytes
    headers: tuple[tuple[str, str], ...]
    payload_hash: str

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> Invocation:
        """From boto3-style arguments: ``{"Body": "...", "ContentType": "text/csv", ...}``."""
        members = _header_members()
        if "Body" not in args:
            raise ValueError("an invocation needs a Body")
        unknown = sorted(set(args) - set(members) - {"Body", "EndpointName"})
        if unknown:
            raise ValueError(f"unknown InvokeEndpoint arguments: {', '.join(unknown)}")
        raw = args["Body"]
        body = raw.encode() if isinstance(raw, str) else json.dumps(raw).encode()
        headers = tuple((members[k], str(v)) for k, v in args.items() if k in members)
        return cls(body, headers, hashlib.sha256(body).hexdigest())


@dataclass(slots=True)
class Result:
    """A logical request's outcome: the final attempt's status and body, and all attempts."""

    status: int
    body: bytes
    error_code: str
    message: str
    attempts: int
    throttled_attempts: int
    throttled: bool
    headers: dict[str, str] = field(default_factory=dict)
    # InvokeEndpointAsync (async_client.py): the submit's latency, acceptance to answer, outcome.
    submit_ms: float | None = None
    output_ms: float | None = None
    async_outcome: str | None = None

    @property
    def ok(self) -> bool:
        return self.error_code == ""


class RuntimeClient:
    """InvokeEndpoint for one endpoint, shared by every simulated client of a run."""

    def __init__(
        self,
        target: Target,
        endpoint_name: str,
        retry: RetrySettings,
        *,
        connect_timeout: float = 60.0,
        read_timeout: float = 60.0,
    ) -> None:
        url = target.endpoint_url.rstrip("/")
        parts = urlsplit(url)
        default_port = {"http": 80, "https": 443}.get(parts.scheme)
        self.host = parts.hostname or ""
        if parts.port and parts.port != default_port:
            self.host = f"{self.host}:{parts.port}"
        self.path = f"{parts.path}/endpoints/{quote(endpoint_name, safe='')}/invocations"
        self.pool = ConnectionPool(url, connect_timeout, read_timeout)
        self.policy = RetryPolicy(retry)
        self.signer = Signer(target.region, SIGNING_NAME)
        self.credentials = target.credentials
        self._source = target.source
        self._credentials_read = time.monotonic()
        self._date_second = -1
        self._date = datetime.now(UTC)

    def _now(self) -> datetime:
        second = int(time.time())
        if second != self._date_second:
            self._date_second, self._date = second, datetime.fromtimestamp(second, UTC)
        return self._date

    def _current_credentials(self) -> Credentials:
        # botocore's refreshable credentials renew themselves minutes before they expire.
        if self._source is not None and time.monotonic() - self._credentials_read > REREAD_S:
            frozen = self._source.get_frozen_credentials()
            self.credentials = Credentials(frozen.access_key, frozen.secret_key, frozen.token)
            self._credentials_read = time.monotonic()
        return self.credentials

    def serialise(self, invocation: Invocation) -> bytes:
        """The signed HTTP/1.1 request for ``invocation``, as bytes on the wire."""
        headers = {"host": self.host, **dict(invocation.headers)}
        headers["Content-Length"] = str(len(invocation.body))
        signed = self.signer.sign(
            "POST",
            self.path,
            headers,
            invocation.body,
            self._current_credentials(),
            now=self._now(),
            payload_hash=invocation.payload_hash,
        )
        signed["User-Agent"] = USER_AGENT
        head = "".join(f"{k}: {v}\r\n" for k, v in signed.items() if k != "host")
        return (
            f"POST {self.path} HTTP/1.1\r\nHost: {self.host}\r\n{head}\r\n".encode("latin-1")
            + invocation.body
        )

    async def invoke(self, invocation: Invocation, deadline: float | None = None) -> Result:
        """Send with retries; ``deadline`` is a ``time.monotonic()`` instant for the caller."""
        state = Result(0, b"", "", "", 0, 0, False)
        if deadline is None:
            return await self._attempts(invocation, state)
        try:
            async with asyncio.timeout_at(_loop_time_of(deadline)):
                return await self._attempts(invocation, state)
        except TimeoutError:
            state.error_code = DEADLINE_CODE
            state.message = "the caller's deadline passed before the request completed"
            state.throttled = False
            return state

    async def _attempts(self, invocation: Invocation, state: Result) -> Result:
        context: dict[str, Any] = {}
        while True:
            await self.policy.before_attempt()
            state.attempts += 1
            outcome = await self._attempt(invocation)
            throttled = self.policy.is_throttle(outcome)
            state.throttled_attempts += throttled
            state.throttled = throttled
            _record(state, outcome)
            delay = self.policy.after_attempt(state.attempts, outcome, context)
            if delay is None:
                self.policy.after_call(outcome, context)
                return state
            await asyncio.sleep(delay)

    async def _attempt(self, invocation: Invocation) -> Outcome:
        try:
            response = await self.pool.request(self.serialise(invocation))
        except TransportError as error:
            return Outcome(None, error.code, str(error), error)
        if 200 <= response.status < 300:
            return Outcome(response, None, "")
        code, message = parse_error(response)
        return Outcome(response, code, message)

    def close(self) -> None:
        self.pool.close()


def _record(state: Result, outcome: Outcome) -> None:
    response = outcome.response
    state.status = response.status if response is not None else 0
    state.body = response.body if response is not None else b""
    state.headers = response.headers if response is not None else {}
    state.error_code = outcome.error_code or ""
    state.message = outcome.message


def parse_error(response: Response) -> tuple[str, str]:
    """The error code and message of a restJson error, read as botocore's parser reads them."""
    data: Any = {}
    try:
        data = json.loads(response.body) if response.body else {}
    except ValueError:
        data = {}
    if not isinstance(data, dict):
        data = {}
    code = response.headers.get("x-amzn-errortype", "").split(":", 1)[0]
    code = code or str(data.get("__type") or data.get("code") or data.get("Code") or "")
    code = code.rsplit("#", 1)[-1] or str(response.status)
    message = data.get("message") or data.get("Message") or ""
    if not message and not data and response.body:
        message = response.body.decode("utf-8", "replace")
    return code, str(message)


def _loop_time_of(deadline: float) -> float:
    """A ``time.monotonic()`` instant on the running loop's clock."""
    loop = asyncio.get_running_loop()
    return loop.time() + (deadline - time.monotonic())


def resolve_retries(
    mode: str | None, retries: int | None, max_attempts: int | None
) -> RetrySettings:
    """Retry settings from the flags, else botocore's config chain (AWS_RETRY_MODE,
    AWS_MAX_ATTEMPTS, the profile), else botocore's defaults. ``retries`` counts retries after
    the first attempt; ``max_attempts`` counts all attempts."""
    if retries is not None and max_attempts is not None:
        raise ValueError("pass --retries or --max-attempts, not both")
    if retries is not None and retries < 0:
        raise ValueError("--retries must be 0 or more")
    if max_attempts is not None and max_attempts < 1:
        raise ValueError("--max-attempts must be at least 1")
    session = get_session()
    chosen = mode or session.get_config_variable("retry_mode") or RetryMode.LEGACY.value
    try:
        resolved_mode = RetryMode(chosen)
    except ValueError:
        raise ValueError(f"retry mode {chosen!r} is not legacy, standard or adaptive") from None
    total = max_attempts if retries is None else retries + 1
    if total is None:
        configured = session.get_config_variable("max_attempts")
        total = int(configured) if configured is not None else None
    return RetrySettings(resolved_mode, total)

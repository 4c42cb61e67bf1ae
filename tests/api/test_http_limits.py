"""Slow, idle and too many clients of ``endpointlab serve`` (emulator/http_limits.py, server.py):
a header or body that stops arriving is cut off after its timeout (408; S3's 400 RequestTimeout)
and its connection closed, while a normal boto3 client is served meanwhile; connections past
--max-connections are answered 503; keep-alive connections survive pauses between requests."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlparse

import psutil
import pytest

from tests.api.support import LIGHT, ServeProcess, client

SLOW = 120  # clients of each kind: a few hundred in all
TIMEOUT = "2"  # the test servers' header and body timeouts, in seconds
GUARD_S = 90.0  # how long a test waits for the server to act before it fails (a hang guard)


def address(url: str) -> tuple[str, int]:
    parsed = urlparse(url)
    assert parsed.hostname is not None and parsed.port is not None
    return parsed.hostname, parsed.port


@contextlib.contextmanager
def connections(url: str, count: int, payload: bytes) -> Iterator[list[socket.socket]]:
    """``count`` connections that each sent ``payload`` and then nothing more."""
    opened: list[socket.socket] = []
    try:
        for _ in range(count):
            sock = socket.create_connection(address(url), timeout=GUARD_S)
            if payload:
                sock.sendall(payload)
            opened.append(sock)
        yield opened
    finally:
        for sock in opened:
            sock.close()


def answer(sock: socket.socket) -> bytes:
    """Everything the server sends before it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def held_open(server: psutil.Process, fds: int) -> bool:
    """Whether the server has ``fds`` descriptors open, within GUARD_S (it accepts in batches)."""
    deadline = time.monotonic() + GUARD_S
    while server.num_fds() < fds:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)  # polling the server's descriptor count, not simulating work
    return True


def header_of(request_line: str, **headers: str) -> bytes:
    lines = [request_line, *(f"{name}: {value}" for name, value in headers.items())]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.fixture(scope="module")
def strict_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServeProcess]:
    """One server with 2 s header and body timeouts for the tests that only open connections to
    it: each checks its own connections (and descriptors relative to its start)."""
    root = tmp_path_factory.mktemp("strict")
    (root / "logs").mkdir()
    flags = (
        *("--header-timeout", TIMEOUT, "--body-timeout", TIMEOUT, "--keep-alive", "30"),
        *LIGHT,
    )
    server = ServeProcess(root / "data", root / "logs", flags)
    server.start()
    try:
        yield server
        assert server.stop() == 0
    finally:
        server.kill()  # only if it is still running


def test_slow_clients_are_cut_off_while_a_normal_client_is_served(
    strict_server: ServeProcess,
) -> None:
    url = strict_server.url
    s3 = client("s3", url)
    s3.create_bucket(Bucket="uploads")
    assert strict_server.process is not None
    server = psutil.Process(strict_server.process.pid)
    fds_before = server.num_fds()
    host = address(url)[0]
    put = header_of("PUT /uploads/stalled HTTP/1.1", Host=host, **{"Content-Length": "100"})
    json_call = header_of(
        "POST / HTTP/1.1",
        Host=host,
        **{
            "X-Amz-Target": "SageMaker.ListModels",
            "Content-Type": "application/x-amz-json-1.1",
            "Content-Length": "50",
        },
    )
    partial_header = f"GET /uploads HTTP/1.1\r\nHost: {host}\r\nX-Slow: ".encode()
    with (
        connections(url, SLOW, b"") as idle,
        connections(url, SLOW, partial_header) as half_headers,
        connections(url, SLOW, put) as stalled_puts,
        connections(url, SLOW // 4, json_call) as stalled_calls,
    ):
        assert held_open(server, fds_before + 3 * SLOW)  # the server accepted them all
        # Meanwhile a normal client goes on being served.
        for number in range(20):
            s3.put_object(Bucket="uploads", Key=f"ok-{number}", Body=b"x" * 1000)
        assert s3.get_object(Bucket="uploads", Key="ok-7")["Body"].read() == b"x" * 1000
        assert client("sagemaker", url).list_models()["Models"] == []

        for sock in idle:
            assert answer(sock) == b""  # nothing was asked, nothing is answered
        for sock in half_headers:
            assert answer(sock).startswith(b"HTTP/1.1 408 ")
        for sock in stalled_puts:
            reply = answer(sock)
            assert reply.startswith(b"HTTP/1.1 400 ")
            assert b"<Code>RequestTimeout</Code>" in reply
            assert b"Your socket connection to the server was not read from or written to" in reply
        for sock in stalled_calls:
            reply = answer(sock)
            assert reply.startswith(b"HTTP/1.1 400 ")
            body = json.loads(reply.split(b"\r\n\r\n", 1)[1])
            assert body["__type"].endswith("RequestTimeout")

    keys = s3.list_objects_v2(Bucket="uploads")["Contents"]
    assert "stalled" not in {k["Key"] for k in keys}  # no partial object
    assert server.num_fds() < fds_before + 3 * SLOW
    assert client("sts", url).get_caller_identity()["Account"] == "123456789012"


def test_a_keep_alive_connection_may_pause_longer_than_the_header_timeout(
    strict_server: ServeProcess,
) -> None:
    host, port = address(strict_server.url)
    connection = http.client.HTTPConnection(host, port, timeout=GUARD_S)
    try:
        for _ in range(2):
            connection.request("GET", "/")  # S3 ListBuckets, unsigned
            response = connection.getresponse()
            assert response.status == 200
            response.read()
            # Idle between requests: the keep-alive period (30 s) applies, not the 2 s header
            # timeout, so the next request goes over the same connection.
            time.sleep(float(TIMEOUT) + 1.5)
            assert connection.sock is not None
    finally:
        connection.close()


def test_the_next_request_on_a_keep_alive_connection_has_a_header_deadline_too(
    strict_server: ServeProcess,
) -> None:
    url = strict_server.url
    host = address(url)[0]
    with connections(url, 1, header_of("GET / HTTP/1.1", Host=host)) as (sock,):
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        sock.sendall(f"GET / HTTP/1.1\r\nHost: {host}\r\n".encode())  # and no more
        assert b"HTTP/1.1 408 " in answer(sock)  # (after any rest of the first response)


def test_a_header_past_64_kib_is_refused_and_a_large_one_below_is_served(
    strict_server: ServeProcess,
) -> None:
    url = strict_server.url
    host = address(url)[0]
    below = header_of("GET / HTTP/1.1", Host=host, **{"X-Large": "a" * 48 * 1024})
    with connections(url, 1, below) as (sock,):
        assert sock.recv(65536).startswith(b"HTTP/1.1 200 ")
    # 66 KiB of a header that never ends: refused at once, before the header timeout.
    endless = f"GET / HTTP/1.1\r\nHost: {host}\r\n".encode() + b"X-Endless: a" * 5632
    with connections(url, 1, endless) as (sock,):
        assert answer(sock).startswith(b"HTTP/1.1 431 ")


def test_connections_past_the_cap_are_answered_503(
    serve: Callable[..., ServeProcess], tmp_path: Path
) -> None:
    server = serve(tmp_path / "data", "--max-connections", "20", *LIGHT)
    url = server.start()
    host, port = address(url)
    with connections(url, 20, b""):
        connection = http.client.HTTPConnection(host, port, timeout=GUARD_S)
        connection.request("GET", "/")
        refused = connection.getresponse()
        assert refused.status == 503
        assert refused.read() == b"Service Unavailable"
        connection.close()
    deadline = time.monotonic() + GUARD_S
    while True:  # the server notices the closed connections in its own time
        connection = http.client.HTTPConnection(host, port, timeout=GUARD_S)
        connection.request("GET", "/")
        status = connection.getresponse().status
        connection.close()
        if status == 200 or time.monotonic() > deadline:
            break
    assert status == 200
    assert server.stop() == 0

"""Length-prefixed frames between the emulator and a worker over a Unix socket.

A request frame carries the body, Content-Type, Accept and custom attributes; a reply frame the
status, Content-Type, custom attributes, body and the time the handler took inside the worker
(ModelLatency is measured there). Strings may be absent, which is not the same as empty.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from endpointlab.models.contract import InvocationRequest, InvocationResponse

# Every frame: 4-byte big-endian length of what follows, then a 1-byte kind.
LENGTH = struct.Struct("!I")
KIND_REQUEST = 1
KIND_REPLY = 2
KIND_READY = 3
KIND_FAILED = 4
_ABSENT = 0xFFFF
_REQUEST_HEAD = struct.Struct("!BHHH")  # kind, len(content_type), len(accept), len(custom)
_REPLY_HEAD = struct.Struct("!BHHHQ")  # kind, status, len(content_type), len(custom), model ns
MAX_FRAME = 64 * 1024 * 1024


@dataclass(frozen=True)
class Reply:
    """A worker's answer to one request frame."""

    response: InvocationResponse
    model_ns: int


def _text(value: str | None) -> tuple[int, bytes]:
    if value is None:
        return _ABSENT, b""
    raw = value.encode("latin-1", errors="replace")[: _ABSENT - 1]
    return len(raw), raw


def encode_request(request: InvocationRequest) -> bytes:
    ct_len, ct = _text(request.content_type)
    ac_len, ac = _text(request.accept)
    cu_len, cu = _text(request.custom_attributes)
    head = _REQUEST_HEAD.pack(KIND_REQUEST, ct_len, ac_len, cu_len)
    size = len(head) + len(ct) + len(ac) + len(cu) + len(request.body)
    return b"".join((LENGTH.pack(size), head, ct, ac, cu, request.body))


def decode_request(frame: bytes | bytearray) -> InvocationRequest:
    kind, ct_len, ac_len, cu_len = _REQUEST_HEAD.unpack_from(frame)
    if kind != KIND_REQUEST:
        raise ValueError(f"expected a request frame, got kind {kind}")
    offset = _REQUEST_HEAD.size
    values: list[str | None] = []
    for length in (ct_len, ac_len, cu_len):
        if length == _ABSENT:
            values.append(None)
            continue
        values.append(frame[offset : offset + length].decode("latin-1"))
        offset += length
    return InvocationRequest(
        body=bytes(frame[offset:]),
        content_type=values[0],
        accept=values[1],
        custom_attributes=values[2],
    )


def encode_reply(response: InvocationResponse, model_ns: int) -> bytes:
    ct_len, ct = _text(response.content_type)
    cu_len, cu = _text(response.custom_attributes)
    head = _REPLY_HEAD.pack(KIND_REPLY, response.status, ct_len, cu_len, model_ns)
    size = len(head) + len(ct) + len(cu) + len(response.body)
    return b"".join((LENGTH.pack(size), head, ct, cu, response.body))


def decode_reply(frame: bytes) -> Reply:
    kind, status, ct_len, cu_len, model_ns = _REPLY_HEAD.unpack_from(frame)
    if kind != KIND_REPLY:
        raise ValueError(f"expected a reply frame, got kind {kind}")
    offset = _REPLY_HEAD.size
    content_type = "" if ct_len == _ABSENT else frame[offset : offset + ct_len].decode("latin-1")
    offset += 0 if ct_len == _ABSENT else ct_len
    custom = None if cu_len == _ABSENT else frame[offset : offset + cu_len].decode("latin-1")
    offset += 0 if cu_len == _ABSENT else cu_len
    response = InvocationResponse(
        status=status, body=bytes(frame[offset:]), content_type=content_type,
        custom_attributes=custom,
    )  # fmt: skip
    return Reply(response=response, model_ns=model_ns)


def encode_status(kind: int, text: str = "") -> bytes:
    """A READY frame (text: load time in seconds) or FAILED frame (text: the reason)."""
    raw = text.encode("utf-8")
    return LENGTH.pack(1 + len(raw)) + bytes((kind,)) + raw


def frame_kind(frame: bytes) -> int:
    return frame[0]


def status_text(frame: bytes) -> str:
    return bytes(frame[1:]).decode("utf-8", errors="replace")

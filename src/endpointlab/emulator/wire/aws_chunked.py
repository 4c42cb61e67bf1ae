"""Request bodies as S3 receives them: plain, or ``Content-Encoding: aws-chunked``.

Over HTTPS botocore streams uploads as ``<hex size>[;chunk-signature=..]\\r\\n<data>\\r\\n``
chunks ending with a zero-size chunk and trailing headers (``x-amz-checksum-crc32:<b64>``);
signed streams (``STREAMING-AWS4-HMAC-SHA256-PAYLOAD``) use the same framing. ``RequestBody``
yields the decoded bytes chunk by chunk and keeps the trailers for the service to check.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

from endpointlab.emulator.errors import ServiceError

MAX_LINE = 4096


def incomplete_body() -> ServiceError:
    return ServiceError(
        "IncompleteBody",
        "You did not provide the number of bytes specified by the Content-Length HTTP header",
    )


def is_aws_chunked(headers: Mapping[str, str]) -> bool:
    """True if the body uses aws-chunked framing (lower-case header names)."""
    encodings = [e.strip().lower() for e in headers.get("content-encoding", "").split(",")]
    sha = headers.get("x-amz-content-sha256", "")
    return "aws-chunked" in encodings or sha.startswith("STREAMING-")


class RequestBody:
    """The decoded bytes of a request body, read once, chunk by chunk."""

    def __init__(self, chunks: AsyncIterator[bytes], *, aws_chunked: bool) -> None:
        self._chunks = chunks
        self._aws_chunked = aws_chunked
        self.trailers: dict[str, str] = {}

    def __aiter__(self) -> AsyncIterator[bytes]:
        return self._chunks.__aiter__() if not self._aws_chunked else self._decode()

    async def read(self, limit: int) -> bytes | None:
        """The whole body, or None if it is longer than ``limit`` bytes."""
        out = bytearray()
        async for chunk in self:
            out += chunk
            if len(out) > limit:
                return None
        return bytes(out)

    async def _decode(self) -> AsyncIterator[bytes]:
        buffer = bytearray()
        source = self._chunks.__aiter__()
        exhausted = False

        async def fill() -> bool:
            nonlocal exhausted
            if exhausted:
                return False
            try:
                buffer.extend(await source.__anext__())
            except StopAsyncIteration:
                exhausted = True
                return False
            return True

        async def line() -> bytes:
            while (end := buffer.find(b"\r\n")) < 0:
                if len(buffer) > MAX_LINE or not await fill():
                    raise incomplete_body()
            text = bytes(buffer[:end])
            del buffer[: end + 2]
            return text

        while True:
            header = (await line()).split(b";", 1)[0].strip()
            try:
                size = int(header, 16)
            except ValueError as exc:
                raise incomplete_body() from exc
            if size == 0:
                break
            while size:
                if not buffer and not await fill():
                    raise incomplete_body()
                piece = bytes(buffer[:size])
                del buffer[: len(piece)]
                size -= len(piece)
                yield piece
            if await line() != b"":
                raise incomplete_body()
        while trailer := await line():
            name, _, value = trailer.decode("latin-1").partition(":")
            self.trailers[name.strip().lower()] = value.strip()

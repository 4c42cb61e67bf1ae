"""AWS Signature Version 4 for the load engine's requests, as botocore's ``SigV4Auth`` signs.

The signing key (four chained HMACs) is derived once per day, region and service and cached;
each request then costs two SHA-256 digests and one HMAC. Only ``client.py`` calls this.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

ALGORITHM = "AWS4-HMAC-SHA256"
# botocore's SIGNED_HEADERS_BLACKLIST: headers proxies or the HTTP layer may change.
UNSIGNED_HEADERS = frozenset(
    {
        "baggage",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "traceparent",
        "tracestate",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
    }
)


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    token: str | None = None


class Signer:
    """Signs requests for one region and service; caches the key for the current day."""

    def __init__(self, region: str, service: str) -> None:
        self.region = region
        self.service = service
        self._key_for: tuple[str, str] | None = None
        self._key = b""
        self.keys_derived = 0

    def signing_key(self, secret_key: str, day: str) -> bytes:
        if self._key_for != (secret_key, day):
            key = _hmac(("AWS4" + secret_key).encode(), day)
            for part in (self.region, self.service, "aws4_request"):
                key = _hmac(key, part)
            self._key, self._key_for = key, (secret_key, day)
            self.keys_derived += 1
        return self._key

    def sign(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        body: bytes,
        credentials: Credentials,
        now: datetime | None = None,
        payload_hash: str | None = None,
    ) -> dict[str, str]:
        """``headers`` (which must hold ``host``) plus X-Amz-Date, the token and Authorization.

        ``path`` is the already percent-encoded request path; no query string is signed (the
        runtime API has none). ``payload_hash`` saves hashing a body that is sent many times.
        """
        moment = (now or datetime.now(UTC)).astimezone(UTC)
        amz_date = moment.strftime("%Y%m%dT%H%M%SZ")
        day = amz_date[:8]
        signed = dict(headers)
        signed["X-Amz-Date"] = amz_date
        if credentials.token:
            signed["X-Amz-Security-Token"] = credentials.token
        canonical = {}
        for name, value in signed.items():
            lowered = name.lower()
            if lowered not in UNSIGNED_HEADERS:
                canonical[lowered] = " ".join(value.split())
        names = sorted(canonical)
        signed_headers = ";".join(names)
        request = "\n".join(
            [
                method.upper(),
                quote(path, safe="/~"),
                "",
                "".join(f"{n}:{canonical[n]}\n" for n in names),
                signed_headers,
                payload_hash or hashlib.sha256(body).hexdigest(),
            ]
        )
        scope = f"{day}/{self.region}/{self.service}/aws4_request"
        to_sign = (
            f"{ALGORITHM}\n{amz_date}\n{scope}\n{hashlib.sha256(request.encode()).hexdigest()}"
        )
        key = self.signing_key(credentials.secret_key, day)
        signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        signed["Authorization"] = (
            f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
            f"SignedHeaders={signed_headers}, Signature={signature}"
        )
        return signed


def _hmac(key: bytes, message: str) -> bytes:
    return hmac.new(key, message.encode(), hashlib.sha256).digest()

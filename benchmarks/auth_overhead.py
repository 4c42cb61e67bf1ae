"""What ``serve --auth`` costs per InvokeEndpoint, measured in one run on rtb-ctr.

First in-process: ``Authenticator.authenticate`` + ``authorize`` on an InvokeEndpoint request
signed by botocore (header form, the rtb-ctr CSV body), with the signing-key cache warm and with
the key chain derived every time. Then end to end: ``endpointlab serve`` without and with
``--auth`` (server on core 0), the same botocore-signed request replayed by wrk (core 1) at 1
and 8 clients, the two servers alternated; prints medians of p50/p99/req/s and the difference.
Requires ``wrk`` (Debian package).

    uv run python benchmarks/auth_overhead.py [--seconds 8] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from endpointlab.emulator.auth import Api, Authenticator, parse_auth_document
from endpointlab.emulator.auth.sigv4 import derive_signing_key
from endpointlab.emulator.wire import service_model
from endpointlab.models.examples import build_examples
from invoke_overhead import deploy, lua_script, signed_headers, start, stop, wrk

CALLS = 20000
REPEATS = 5
CONCURRENCY = (1, 8)
AUTH = {
    "keys": [
        {
            "access_key_id": "bench",
            "secret_access_key": "bench",
            "policies": [{"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}],
        }
    ]
}


class Head:
    def __init__(self, method: str, path: str, query: str, headers: dict[str, str]) -> None:
        self.method, self.path, self.query, self.headers = method, path, query, headers


def in_process(body: str) -> dict[str, float]:
    """Microseconds per request for the gate alone (best of REPEATS runs of CALLS calls)."""
    url = "http://127.0.0.1:4566/endpoints/rtb/invocations"
    request = AWSRequest(
        method="POST", url=url, data=body.encode(), headers={"Content-Type": "text/csv"}
    )
    SigV4Auth(Credentials("bench", "bench"), "sagemaker", "us-east-1").add_auth(request)
    headers = {k.lower(): v for k, v in request.headers.items()}
    headers["host"] = urlsplit(url).netloc
    head = Head("POST", "/endpoints/rtb/invocations", "", headers)
    gate = Authenticator(parse_auth_document(AUTH), "us-east-1")
    api = Api.of(service_model("sagemaker-runtime"))
    data = body.encode()
    params = {"EndpointName": "rtb", "Body": data}

    def once() -> None:
        principal = gate.authenticate(head, api, data)
        gate.authorize(principal, api, "InvokeEndpoint", params)

    def derive() -> None:
        derive_signing_key("bench", "20260101", "us-east-1", "sagemaker")

    figures = {}
    for label, call in (("authenticate+authorize", once), ("derive signing key", derive)):
        runs = []
        for _ in range(REPEATS):
            started = time.perf_counter()
            for _ in range(CALLS):
                call()
            runs.append((time.perf_counter() - started) / CALLS * 1e6)
        figures[label] = min(runs)
        figures[f"{label} (median)"] = statistics.median(runs)
    return figures


def end_to_end(
    archive: Path, body: str, work: Path, seconds: int, auth: bool
) -> dict[int, dict[str, float]]:
    data_dir = Path(tempfile.mkdtemp(prefix="data-", dir=work))  # a fresh emulator each time
    command = [sys.executable, "-m", "endpointlab", "serve", "--port", "0",
               "--data-dir", str(data_dir), "--model-root", str(work)]  # fmt: skip
    if auth:
        auth_file = work / "auth.json"
        auth_file.write_text(json.dumps(AUTH))
        command += ["--auth", str(auth_file)]
    emulator, url = start(command, "listening on")
    try:
        deploy(url, archive)
        script = lua_script(work / "invoke.lua", "POST", body, signed_headers(url, body))
        target = f"{url}/endpoints/rtb/invocations"
        wrk(target, script, 8, 2)  # warm-up
        return {c: wrk(target, script, c, seconds) for c in CONCURRENCY}
    finally:
        stop(emulator)


def _median_of(runs: list[dict[int, dict[str, float]]]) -> dict[int, dict[str, float]]:
    return {
        c: {k: statistics.median(run[c][k] for run in runs) for k in ("p50", "p99", "rps")}
        for c in CONCURRENCY
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=8, help="Length of each wrk run.")
    parser.add_argument("--rounds", type=int, default=2, help="Server starts of each kind.")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is required: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="auth-overhead-"))
    archive = build_examples(work / "examples", ["rtb-ctr"])[0].archive
    body = json.loads((archive.parent / "invoke_args.jsonl").read_text().splitlines()[0])["Body"]

    micro = in_process(body)
    print(f"in-process, {len(body)}-byte CSV body, best of {REPEATS} x {CALLS} calls:")
    for label in ("authenticate+authorize", "derive signing key"):
        print(f"  {label:<24}{micro[label]:>8.1f} us  (median {micro[f'{label} (median)']:.1f} us)")
    print("  (the key is derived once per key, day, region and service; cached afterwards)")

    # Alternate the two servers (ABBA...) so drift on this shared machine hits both alike.
    runs: dict[bool, list[dict[int, dict[str, float]]]] = {False: [], True: []}
    for round_ in range(args.rounds):
        for auth in (False, True) if round_ % 2 == 0 else (True, False):
            runs[auth].append(end_to_end(archive, body, work, args.seconds, auth=auth))
    plain, signed = (_median_of(runs[False]), _median_of(runs[True]))
    print(f"\nInvokeEndpoint through endpointlab serve, wrk {args.seconds} s per run, "
          f"median of {args.rounds} server starts each")  # fmt: skip
    print(f"{'serve':<16}{'clients':>8}{'p50 ms':>10}{'p99 ms':>10}{'req/s':>10}")
    for label, results in (("without --auth", plain), ("with --auth", signed)):
        for clients, figures in results.items():
            print(f"{label:<16}{clients:>8}{figures['p50']:>10.3f}{figures['p99']:>10.3f}"
                  f"{figures['rps']:>10.0f}")  # fmt: skip
    for clients in CONCURRENCY:
        added = signed[clients]["p50"] - plain[clients]["p50"]
        ratio = signed[clients]["rps"] / plain[clients]["rps"]
        print(f"{clients:>2} clients: --auth adds {added * 1000:+.0f} us at p50; "
              f"throughput {ratio:.2f}x")  # fmt: skip


if __name__ == "__main__":
    main()

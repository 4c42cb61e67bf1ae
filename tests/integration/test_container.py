"""The model container as a real process: SageMaker's HTTP contract, timeouts, restarts, shutdown.

Every container is a subprocess (``python -m endpointlab.emulator.workers.container``) on a free
port, driven over HTTP with ``http.client``; every test stops what it starts and checks for orphans.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import psutil
import pytest

from endpointlab.emulator.workers.container import ContainerProcess, ContainerStartError
from endpointlab.models.artifact import pack_model_dir
from endpointlab.models.contract import InvocationRequest, load_handler
from tests.example_models import example_models

BEHAVIOUR_MODEL = """
import json, os, re, time

def model_fn(model_dir):
    if os.path.exists(os.path.join(model_dir, "fail-to-load")):
        raise ValueError("weights are corrupt")
    return {"pid": os.getpid()}

def input_fn(body, content_type):
    if content_type != "application/json":
        raise ValueError("this model reads JSON only")
    return json.loads(body)

def predict_fn(data, model):
    action = data.get("action")
    if action == "sleep":
        time.sleep(float(data["seconds"]))
    elif action == "fail":
        raise RuntimeError(data.get("message", "boom"))
    elif action == "hog":
        # Catastrophic backtracking: C code that holds the GIL and never returns in time.
        re.match(r"(a+)+$", "a" * 48 + "b")
    return {"pid": model["pid"], "echo": data}

def output_fn(prediction, accept, context):
    attributes = context.get_request_header(0, "X-Amzn-SageMaker-Custom-Attributes")
    if attributes:
        context.set_response_header(0, "X-Amzn-SageMaker-Custom-Attributes", "seen=" + attributes)
    return json.dumps(prediction), "application/json"
"""

Response = tuple[int, dict[str, str], bytes]


# --- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def examples_dir() -> Path:
    built = example_models()
    [root] = {example.archive.parent.parent for example in built.values()}
    return root


def _behaviour_archive(root: Path, *, fail_to_load: bool = False) -> Path:
    model_dir = root / "model"
    (model_dir / "code").mkdir(parents=True)
    (model_dir / "code" / "inference.py").write_text(BEHAVIOUR_MODEL)
    if fail_to_load:
        (model_dir / "fail-to-load").write_text("x")
    return pack_model_dir(model_dir, root / "model.tar.gz")


@pytest.fixture(scope="module")
def behaviour_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return _behaviour_archive(tmp_path_factory.mktemp("behaviour"))


def _env(**sagemaker: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"SAGEMAKER_BIND_TO_PORT": "0", "SAGEMAKER_MODEL_SERVER_WORKERS": "1"})
    env.update(sagemaker)
    return env


@pytest.fixture
def start() -> Iterator[Any]:
    """Start containers for one test; all are stopped (and checked for orphans) afterwards."""
    started: list[tuple[ContainerProcess, list[int]]] = []

    def _start(archive: Path, **sagemaker: str) -> ContainerProcess:
        container = ContainerProcess(archive, _env(**sagemaker)).start()
        workers: list[int] = []
        started.append((container, workers))
        container.wait_ready(120)
        workers.extend(_children(container.pid))
        return container

    yield _start
    for container, workers in started:
        workers.extend(_children(container.pid))
        container.stop()
        _assert_gone(workers)


@pytest.fixture(scope="module")
def behaviour(behaviour_archive: Path) -> Iterator[ContainerProcess]:
    """A two-worker container shared by the tests that do not disturb its workers."""
    container = ContainerProcess(
        behaviour_archive,
        _env(SAGEMAKER_MODEL_SERVER_WORKERS="2", SAGEMAKER_MAX_PAYLOAD_IN_MB="1"),
    ).start()
    try:
        container.wait_ready(120)
        yield container
    finally:
        workers = _children(container.pid)
        container.stop()
        _assert_gone(workers)


@contextlib.contextmanager
def _shared(archive: Path, **sagemaker: str) -> Iterator[ContainerProcess]:
    """A container for a module's tests that leave it as they found it; orphans checked at the
    end (the workers it started with and those running then)."""
    container = ContainerProcess(archive, _env(**sagemaker)).start()
    workers: list[int] = []
    try:
        container.wait_ready(120)
        workers.extend(_children(container.pid))
        yield container
    finally:
        workers.extend(_children(container.pid))
        container.stop()
        _assert_gone(workers)


@pytest.fixture(scope="module")
def one_second_timeout(behaviour_archive: Path) -> Iterator[ContainerProcess]:
    """One worker, a one-second request timeout: each test kills the worker and ends once its
    replacement has answered."""
    with _shared(behaviour_archive, SAGEMAKER_MODEL_SERVER_TIMEOUT="1") as container:
        yield container


@pytest.fixture(scope="module")
def rtb_ctr(examples_dir: Path) -> Iterator[ContainerProcess]:
    """The rtb-ctr example on two workers, for the tests that only send it requests."""
    archive = examples_dir / "rtb-ctr" / "model.tar.gz"
    with _shared(archive, SAGEMAKER_MODEL_SERVER_WORKERS="2") as container:
        yield container


# --- helpers --------------------------------------------------------------------------------


def _request(
    url: str,
    method: str,
    path: str,
    body: bytes | None = None,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
) -> Response:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        connection.close()


def _invoke(url: str, payload: Any, **headers: str) -> Response:
    all_headers = {"Content-Type": "application/json", **headers}
    return _request(url, "POST", "/invocations", json.dumps(payload).encode(), headers=all_headers)


def _children(pid: int) -> list[int]:
    try:
        return [child.pid for child in psutil.Process(pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def _assert_gone(pids: list[int]) -> None:
    alive = [pid for pid in pids if psutil.pid_exists(pid) and _not_zombie(pid)]
    assert not alive, f"worker processes left behind: {alive}"


def _not_zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _wait_for_workers(container: ContainerProcess, count: int, exclude: set[int]) -> list[int]:
    """Pids once ``count`` fresh workers (none in ``exclude``) run; polls the process table."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pids = [pid for pid in container.worker_pids() if _not_zombie(pid)]
        if len(pids) == count and not set(pids) & exclude:
            return pids
        time.sleep(0.05)
    raise AssertionError(f"expected {count} new workers, have {container.worker_pids()}")


# --- the HTTP contract ----------------------------------------------------------------------


def test_ping_answers_200_with_an_empty_body(behaviour: ContainerProcess) -> None:
    assert behaviour.url is not None
    status, _, body = _request(behaviour.url, "GET", "/ping")
    assert (status, body) == (200, b"")


def _maps(pid: int) -> str:
    return Path(f"/proc/{pid}/maps").read_text()


def test_the_supervisor_imports_only_the_libraries_its_model_needs(
    behaviour: ContainerProcess, rtb_ctr: ContainerProcess
) -> None:
    """The behaviour model imports no ML library; rtb-ctr is an XGBoost model file."""
    assert "libxgboost" not in _maps(behaviour.pid)
    assert "libxgboost" in _maps(rtb_ctr.pid)


def test_unknown_path_is_404_and_wrong_method_is_405(behaviour: ContainerProcess) -> None:
    assert behaviour.url is not None
    status, _, body = _request(behaviour.url, "GET", "/models")
    assert status == 404 and json.loads(body)["code"] == 404
    assert _request(behaviour.url, "GET", "/invocations")[0] == 405
    assert _request(behaviour.url, "POST", "/ping")[0] == 405


def test_handler_error_is_500_with_its_message_and_the_next_request_succeeds(
    behaviour: ContainerProcess,
) -> None:
    assert behaviour.url is not None
    status, _, body = _invoke(behaviour.url, {"action": "fail", "message": "no weights today"})
    assert status == 500
    assert b"RuntimeError: no weights today" in body
    status, headers, body = _invoke(behaviour.url, {"x": 1})
    assert status == 200 and headers["content-type"] == "application/json"
    assert json.loads(body)["echo"] == {"x": 1}


def test_custom_attributes_reach_the_handler_and_come_back_when_it_sets_them(
    behaviour: ContainerProcess,
) -> None:
    assert behaviour.url is not None
    headers = {"X-Amzn-SageMaker-Custom-Attributes": "trace=42"}
    status, got, _ = _invoke(behaviour.url, {"x": 1}, **headers)
    assert status == 200
    assert got["x-amzn-sagemaker-custom-attributes"] == "seen=trace=42"
    _, got, _ = _invoke(behaviour.url, {"x": 1})
    assert "x-amzn-sagemaker-custom-attributes" not in got


def test_a_body_over_the_payload_limit_is_413(behaviour: ContainerProcess) -> None:
    assert behaviour.url is not None  # this container has SAGEMAKER_MAX_PAYLOAD_IN_MB=1
    big = b'{"x": "' + b"a" * (1024 * 1024) + b'"}'
    status, _, body = _request(
        behaviour.url, "POST", "/invocations", big, headers={"Content-Type": "application/json"}
    )
    assert status == 413 and json.loads(body)["code"] == 413
    assert _invoke(behaviour.url, {"x": "a" * 1000})[0] == 200


def test_several_workers_share_the_port(behaviour: ContainerProcess) -> None:
    assert behaviour.url is not None
    workers = set(behaviour.worker_pids())
    assert len(workers) == 2
    served = {json.loads(_invoke(behaviour.url, {"i": i})[2])["pid"] for i in range(100)}
    assert served <= workers and len(served) == 2


# --- the timeout, crashes and shutdown ------------------------------------------------------


def test_a_request_over_the_timeout_gets_500_and_its_worker_is_replaced(
    one_second_timeout: ContainerProcess,
) -> None:
    container = one_second_timeout
    (old,) = _wait_for_workers(container, 1, exclude=set())
    began = time.monotonic()
    status, _, body = _invoke(container.url, {"action": "sleep", "seconds": 30})
    assert time.monotonic() - began < 10
    assert status == 500 and b"Worker died." in body and b"SAGEMAKER_MODEL_SERVER_TIMEOUT" in body
    (new,) = _wait_for_workers(container, 1, exclude={old})
    status, _, body = _invoke(container.url, {"x": 1})
    assert status == 200 and json.loads(body)["pid"] == new


@pytest.mark.slow
def test_a_worker_stuck_in_native_code_holding_the_gil_is_killed_and_replaced(
    one_second_timeout: ContainerProcess,
) -> None:
    container = one_second_timeout
    (old,) = _wait_for_workers(container, 1, exclude=set())
    with pytest.raises((ConnectionError, http.client.HTTPException, TimeoutError)):
        _invoke(container.url, {"action": "hog"})  # the worker cannot even answer: it is killed
    (new,) = _wait_for_workers(container, 1, exclude={old})
    assert not psutil.pid_exists(old) or not _not_zombie(old)
    status, _, body = _invoke(container.url, {"x": 1})
    assert status == 200 and json.loads(body)["pid"] == new


def test_a_killed_worker_is_replaced_and_requests_keep_succeeding(
    start: Any, behaviour_archive: Path
) -> None:
    container = start(behaviour_archive, SAGEMAKER_MODEL_SERVER_WORKERS="2")
    first = container.worker_pids()
    os.kill(first[0], signal.SIGKILL)
    now = _wait_for_workers(container, 2, exclude={first[0]})
    assert first[1] in now
    for i in range(20):
        assert _invoke(container.url, {"i": i})[0] == 200


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_stop_signal_stops_every_worker_and_exits_0(
    behaviour_archive: Path, signum: signal.Signals
) -> None:
    container = ContainerProcess(behaviour_archive, _env(SAGEMAKER_MODEL_SERVER_WORKERS="3"))
    with container:
        container.wait_ready(120)
        workers = container.worker_pids()
        assert len(workers) == 3
        container.signal(signum)
        assert container.stop(timeout_s=30) == 0
    _assert_gone(workers)


def test_workers_exit_when_the_supervisor_is_killed(behaviour_archive: Path) -> None:
    container = ContainerProcess(behaviour_archive, _env(SAGEMAKER_MODEL_SERVER_WORKERS="2"))
    with container:
        container.wait_ready(120)
        workers = container.worker_pids()
        container.signal(signal.SIGKILL)  # no chance to clean up: the workers must notice
        container.stop()
        deadline = time.monotonic() + 15
        while not all(not psutil.pid_exists(pid) or not _not_zombie(pid) for pid in workers):
            assert time.monotonic() < deadline, f"orphaned workers: {workers}"
            time.sleep(0.05)


def test_requests_in_flight_finish_before_a_sigterm_stop(
    start: Any, behaviour_archive: Path
) -> None:
    container = start(behaviour_archive)
    results: list[Response] = []
    worker = threading.Thread(
        target=lambda: results.append(_invoke(container.url, {"action": "sleep", "seconds": 1}))
    )
    worker.start()
    time.sleep(0.3)  # let the request reach the model before the signal
    container.signal(signal.SIGTERM)
    worker.join(10)
    assert results and results[0][0] == 200
    assert container.stop() == 0


# --- start-up failures ----------------------------------------------------------------------


def test_a_model_that_fails_to_load_fails_fast_with_one_line(tmp_path: Path) -> None:
    archive = _behaviour_archive(tmp_path, fail_to_load=True)
    container = ContainerProcess(archive, _env(SAGEMAKER_MODEL_SERVER_WORKERS="2")).start()
    with pytest.raises(ContainerStartError) as raised:
        container.wait_ready(60)
    message = str(raised.value)
    assert "ValueError: weights are corrupt" in message
    assert "code/inference.py" in message and "model_fn" in message
    assert container.stop() == 2


def test_a_broken_archive_fails_before_any_worker_starts(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"this is not a tar file")
    container = ContainerProcess(archive, _env()).start()
    with pytest.raises(ContainerStartError, match=r"not a readable tar\.gz"):
        container.wait_ready(60)
    assert container.stop() == 2


# --- the example models, end to end ---------------------------------------------------------


def _sample_requests(examples_dir: Path, name: str) -> list[dict[str, str]]:
    lines = (examples_dir / name / "invoke_args.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _extract(examples_dir: Path, name: str, tmp_path: Path) -> Path:
    from endpointlab.models.artifact import extract_model_archive

    return extract_model_archive(examples_dir / name / "model.tar.gz", tmp_path / name)


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize(("name", "limit"), [("rtb-ctr", None), ("image-classifier", 5)])
def test_example_models_answer_exactly_what_the_handler_answers_in_process(
    request: pytest.FixtureRequest, examples_dir: Path, tmp_path: Path, name: str, limit: int | None
) -> None:
    handler = load_handler(_extract(examples_dir, name, tmp_path), {}, 1)
    if name == "rtb-ctr":
        container: ContainerProcess = request.getfixturevalue("rtb_ctr")
    else:
        start = request.getfixturevalue("start")
        container = start(examples_dir / name / "model.tar.gz", SAGEMAKER_MODEL_SERVER_WORKERS="2")
    for args in _sample_requests(examples_dir, name)[:limit]:
        headers = {"Content-Type": args["ContentType"]}
        if "Accept" in args:
            headers["Accept"] = args["Accept"]
        body = args["Body"].encode()
        expected = handler.invoke(InvocationRequest(body, args["ContentType"], args.get("Accept")))
        status, got, payload = _request(
            container.url, "POST", "/invocations", body, headers=headers
        )
        assert (status, got["content-type"]) == (expected.status, expected.content_type)
        assert payload == expected.body


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_rtb_ctr_answers_bad_requests_as_the_xgboost_container(
    rtb_ctr: ContainerProcess, examples_dir: Path
) -> None:
    container = rtb_ctr
    status, _, body = _request(
        container.url, "POST", "/invocations", b"\x89PNG", headers={"Content-Type": "image/png"}
    )
    assert status == 415 and body.startswith(b"image/png is not an accepted ContentType: ")
    status, _, body = _request(
        container.url, "POST", "/invocations", b"a,b,c\n", headers={"Content-Type": "text/csv"}
    )
    assert status == 415 and body.startswith(b"Loading csv data failed with Exception")
    status, _, body = _request(  # rtb-ctr wants 30 features
        container.url, "POST", "/invocations", b"1,2,3\n", headers={"Content-Type": "text/csv"}
    )
    assert status == 400 and body.startswith(b"Unable to evaluate payload provided: ")
    args = _sample_requests(examples_dir, "rtb-ctr")[0]
    headers = {"Content-Type": "text/csv", "Accept": "text/csv"}
    status, _, _ = _request(
        container.url, "POST", "/invocations", args["Body"].encode(), headers=headers
    )
    assert status == 200

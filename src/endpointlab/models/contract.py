"""SageMaker's inference-handler contract: model_fn, input_fn, predict_fn, output_fn, transform_fn.

``load_handler`` imports the artifact's ``code/<SAGEMAKER_PROGRAM>`` (default ``inference.py``) the
way the SageMaker inference toolkit does, fills every function it does not define with the
built-in default, and calls ``model_fn`` once. ``InferenceHandler.invoke`` runs one request and
never raises: every failure becomes the HTTP status and message the container would answer. An
unexpected exception answers with its message only; its traceback goes to ``on_error`` (the
container's log), never into the response.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from endpointlab.models import codecs
from endpointlab.models.builtin import load_builtin_model
from endpointlab.models.containers import answers_for
from endpointlab.models.context import InvocationContext
from endpointlab.models.errors import ArtifactError, InferenceError

CUSTOM_ATTRIBUTES_HEADER = "X-Amzn-SageMaker-Custom-Attributes"
ErrorReporter = Callable[[BaseException], None]
HANDLER_ARITY = {
    "pre_model_fn": 1,
    "model_fn": 1,
    "model_warmup_fn": 2,
    "input_fn": 2,
    "predict_fn": 2,
    "output_fn": 2,
    "transform_fn": 4,
}


@dataclass(frozen=True)
class InvocationRequest:
    """One POST /invocations as the container receives it."""

    body: bytes
    content_type: str | None
    accept: str | None
    custom_attributes: str | None = None


@dataclass(frozen=True)
class InvocationResponse:
    """The container's answer: status, body, Content-Type and custom attributes (if set)."""

    status: int
    body: bytes
    content_type: str
    custom_attributes: str | None = None


@dataclass(frozen=True)
class _UserFunction:
    """A handler hook called as the toolkit calls it: with ``context`` appended when the function
    declares exactly one parameter more than the contract's arguments (defaults included)."""

    name: str
    function: Callable[..., Any]
    parameters: int | None

    def __call__(self, *args: Any, context: InvocationContext) -> Any:
        if self.parameters is None or self.parameters == len(args):
            return self.function(*args)
        if self.parameters == len(args) + 1:
            return self.function(*args, context)
        raise TypeError(
            f"{self.name} takes {self.parameters} parameters; the handler contract passes "
            f"{len(args)} (or {len(args) + 1} with context)"
        )


class InferenceHandler:
    """A loaded model plus the handler functions that serve it."""

    def __init__(
        self,
        model: Any,
        functions: Mapping[str, _UserFunction],
        model_dir: Path,
        default_accept: str,
        on_error: ErrorReporter | None = None,
    ) -> None:
        self.model = model
        self._functions = functions
        self._model_dir = model_dir
        self._default_accept = default_accept
        self._on_error = on_error

    @property
    def uses_custom_code(self) -> bool:
        return bool(self._functions)

    def invoke(self, request: InvocationRequest) -> InvocationResponse:
        """Serve one request; exceptions become 4xx/5xx responses as in the inference toolkit."""
        context = InvocationContext.for_request(
            self._model_dir,
            content_type=request.content_type,
            accept=request.accept,
            custom_attributes=request.custom_attributes,
        )
        builtin = answers_for(self.model) if not self._functions else None
        try:
            if builtin is not None:  # no inference.py: answer as the container it stands for
                status, payload, kind = builtin(
                    self.model, request.body, request.content_type, self._accept(request)
                )
                return InvocationResponse(status=status, body=payload, content_type=kind)
            body, content_type = self._transform(request, context)
        except InferenceError as exc:
            return _error_response(exc.status, exc.message)
        except Exception as exc:
            if self._on_error is not None:
                self._on_error(exc)
            return _error_response(500, describe_exception(exc))
        return InvocationResponse(
            status=200,
            body=body,
            content_type=content_type,
            custom_attributes=context.response_header(CUSTOM_ATTRIBUTES_HEADER),
        )

    def _transform(
        self, request: InvocationRequest, context: InvocationContext
    ) -> tuple[bytes, str]:
        content_type = request.content_type or ""
        accept = self._accept(request)
        data: bytes | str = request.body
        if codecs.media_type(content_type) in codecs.UTF8_TYPES:
            try:
                data = request.body.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise InferenceError(400, f"The request body is not valid UTF-8: {exc}") from exc
        transform = self._functions.get("transform_fn")
        if transform is not None:
            result = transform(self.model, data, content_type, accept, context=context)
        else:
            result = self._default_transform(data, content_type, accept, context)
        return _as_body(result, accept)

    def _accept(self, request: InvocationRequest) -> str:
        """The request's Accept; a missing or ``*/*`` one is the container's default."""
        accept = request.accept
        if not accept or accept.strip() == codecs.ANY:
            return self._default_accept
        return accept

    def _default_transform(
        self, data: bytes | str, content_type: str, accept: str, context: InvocationContext
    ) -> Any:
        functions = self._functions
        if "input_fn" in functions:
            decoded = functions["input_fn"](data, content_type, context=context)
        else:
            decoded = codecs.decode(data, content_type)
        if "predict_fn" in functions:
            prediction = functions["predict_fn"](decoded, self.model, context=context)
        else:
            prediction = _default_predict(decoded, self.model)
        if "output_fn" in functions:
            return functions["output_fn"](prediction, accept, context=context)
        kind = codecs.negotiate(accept, self._default_accept, codecs.ENCODABLE)
        return codecs.encode(prediction, kind), kind


def _default_predict(data: Any, model: Any) -> Any:
    predict = getattr(model, "predict", None)
    if not callable(predict):
        raise InferenceError(
            500,
            f"Please provide a predict_fn implementation: the model ({type(model).__name__}) "
            "has no predict method",
        )
    return predict(data)


def _as_body(result: Any, accept: str) -> tuple[bytes, str]:
    """output_fn may return bytes, str, or (body, content_type), as the toolkit allows."""
    content_type = accept
    if isinstance(result, tuple) and len(result) == 2:
        result, content_type = result
    if isinstance(result, str):
        result = result.encode("utf-8")
    elif isinstance(result, bytearray | memoryview):
        result = bytes(result)
    if not isinstance(result, bytes):
        raise InferenceError(
            500,
            "output_fn must return bytes, str or (body, content_type), "
            f"got {type(result).__name__}",
        )
    return result, str(content_type)


def _error_response(status: int, message: str) -> InvocationResponse:
    return InvocationResponse(
        status=status, body=message.encode("utf-8"), content_type="text/plain"
    )


def describe_exception(exc: BaseException) -> str:
    """What a response says about an exception: its type and message, not its traceback (which
    names the host's files)."""
    message = str(exc).strip()
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def format_traceback(exc: BaseException) -> str:
    """The full traceback, for the container's log."""
    return "".join(traceback.format_exception(exc))


def load_handler(
    model_dir: Path,
    environment: Mapping[str, str],
    threads: int = 1,
    on_error: ErrorReporter | None = None,
) -> InferenceHandler:
    """Import the user's handler module (if any), fill in defaults and run model_fn once.

    ``on_error`` receives each unexpected exception a request raises (for the log)."""
    program = environment.get("SAGEMAKER_PROGRAM") or "inference.py"
    default_accept = environment.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT") or codecs.JSON
    module = _import_user_module(model_dir, program)
    functions = _user_functions(module) if module is not None else {}
    context = InvocationContext.for_loading(model_dir)
    if "pre_model_fn" in functions:
        functions.pop("pre_model_fn")(str(model_dir), context=context)
    if "model_fn" in functions:
        model = functions.pop("model_fn")(str(model_dir), context=context)
    else:
        model = load_builtin_model(model_dir, threads)
    if "model_warmup_fn" in functions:
        functions.pop("model_warmup_fn")(str(model_dir), model, context=context)
    return InferenceHandler(model, functions, model_dir, default_accept, on_error)


def _import_user_module(model_dir: Path, program: str) -> ModuleType | None:
    code_dir = model_dir / "code"
    module_name = program[:-3] if program.endswith(".py") else program
    path = code_dir / f"{module_name}.py"
    if not path.is_file():
        if program != "inference.py":
            raise ArtifactError(
                f"SAGEMAKER_PROGRAM names {program}, "
                f"but code/{module_name}.py is not in the artifact"
            )
        return None
    # The toolkit puts the code directory on sys.path so the module's own imports resolve.
    if str(code_dir) not in sys.path:
        sys.path.insert(0, str(code_dir))
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ArtifactError(f"cannot import code/{path.name}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        raise ArtifactError(
            f"importing code/{path.name} failed: {type(exc).__name__}: {exc}"
        ) from exc
    return module


def _user_functions(module: ModuleType) -> dict[str, _UserFunction]:
    found: dict[str, _UserFunction] = {}
    for name in HANDLER_ARITY:
        function = getattr(module, name, None)
        if function is None:
            continue
        if not callable(function):
            raise ArtifactError(f"{name} in {module.__name__} is not a function")
        found[name] = _UserFunction(name, function, _parameter_count(function))
    if "transform_fn" in found and {"input_fn", "predict_fn", "output_fn"} & found.keys():
        # The toolkit refuses this combination at start-up with the same complaint.
        raise ArtifactError(
            "Cannot use transform_fn implementation in conjunction with input_fn, predict_fn, "
            "and/or output_fn implementation"
        )
    return found


def _parameter_count(function: Callable[..., Any]) -> int | None:
    try:
        return len(inspect.signature(function).parameters)
    except (TypeError, ValueError):  # builtins without a signature: call without context
        return None

"""Content-type decoders and encoders of the SageMaker inference toolkit, and Accept negotiation.

The default handlers decode request bodies to numpy arrays and encode predictions back, for the
content types SageMaker's framework containers understand: JSON, CSV, NPY and NPZ.
"""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np

from endpointlab.models.errors import InferenceError

JSON = "application/json"
CSV = "text/csv"
NPY = "application/x-npy"
NPZ = "application/x-npz"
ANY = "*/*"

DECODABLE = (JSON, CSV, NPY, NPZ)
ENCODABLE = (JSON, CSV, NPY)
# The toolkit hands these bodies to input_fn as str, everything else as bytes.
UTF8_TYPES = (JSON, CSV)


def media_type(content_type: str | None) -> str:
    """The bare media type of a header value: ``text/csv; charset=utf-8`` -> ``text/csv``."""
    if not content_type:
        return ""
    return content_type.split(";", 1)[0].strip().lower()


def decode(body: bytes | str, content_type: str | None) -> np.ndarray[Any, Any]:
    """Decode a request body into a numpy array, as the toolkit's default input_fn does."""
    kind = media_type(content_type)
    try:
        if kind == JSON:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
            return np.array(json.loads(text))
        if kind == CSV:
            text = body.decode("utf-8") if isinstance(body, bytes) else body
            return _csv_to_array(text)
        if kind in (NPY, NPZ):
            raw = body.encode("utf-8") if isinstance(body, str) else body
            loaded = np.load(io.BytesIO(raw), allow_pickle=False)
            if kind == NPZ:
                with loaded:
                    names = list(loaded.keys())
                    if len(names) != 1:
                        raise ValueError(
                            f"expected one array in the .npz archive, found {len(names)}"
                        )
                    return np.asarray(loaded[names[0]])
            return np.asarray(loaded)
    except InferenceError:
        raise
    except (ValueError, UnicodeDecodeError, OSError, EOFError) as exc:
        raise InferenceError(400, f"Could not decode the request body as {kind}: {exc}") from exc
    raise InferenceError(
        415,
        f"Content type {content_type or '(none)'} is not supported by this model; "
        f"use one of {', '.join(DECODABLE)}",
    )


def _csv_to_array(text: str) -> np.ndarray[Any, Any]:
    """Parse numeric CSV rows into a 2-D float array (one row per line, blank lines skipped)."""
    rows = [line.split(",") for line in text.splitlines() if line.strip()]
    if not rows:
        raise ValueError("the CSV body has no rows")
    width = len(rows[0])
    for number, row in enumerate(rows, start=1):
        if len(row) != width:
            raise ValueError(f"row {number} has {len(row)} columns, row 1 has {width}")
    try:
        return np.array(rows, dtype=np.float64)
    except ValueError as exc:
        raise ValueError(f"non-numeric value in CSV ({exc})") from exc


def encode(prediction: Any, accept: str) -> bytes:
    """Encode a prediction for the negotiated accept type, as the toolkit's default output_fn."""
    kind = media_type(accept)
    if kind == JSON:
        return json.dumps(_jsonable(prediction)).encode("utf-8")
    if kind == CSV:
        return _array_to_csv(prediction).encode("utf-8")
    if kind == NPY:
        buffer = io.BytesIO()
        np.save(buffer, np.asarray(prediction), allow_pickle=False)
        return buffer.getvalue()
    raise InferenceError(
        406, f"Accept {accept} is not supported by this model; use one of {', '.join(ENCODABLE)}"
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return value


def _array_to_csv(prediction: Any) -> str:
    array = np.asarray(prediction)
    if array.ndim == 0:
        return f"{array.item()}\n"
    if array.ndim == 1:
        return "".join(f"{item}\n" for item in array.tolist())
    return "".join(",".join(str(item) for item in row) + "\n" for row in array.tolist())


def negotiate(accept: str | None, default: str, supported: tuple[str, ...]) -> str:
    """Pick the response type: the first acceptable supported type, the default for ``*/*``.

    A missing Accept, or one that admits anything, gets ``default`` (the toolkit's
    ``SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT``). Nothing acceptable -> 406.
    """
    if not accept:
        return default
    offered = [media_type(part) for part in accept.split(",") if part.strip()]
    for kind in offered:
        if kind == ANY:
            return default
        if kind in supported:
            return kind
    raise InferenceError(
        406, f"Accept {accept} is not supported by this model; use one of {', '.join(supported)}"
    )

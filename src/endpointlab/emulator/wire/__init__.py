"""Protocol codecs that make the emulator speak AWS wire formats, driven by botocore's models.

One codec per protocol (awsJson in ``json_rpc``, restJson1 in ``rest_json``, awsQuery in
``query``, Smithy rpc-v2-cbor in ``cbor``, restXml in ``rest_xml``), generic over service models,
each with the one ``Codec`` interface (``exchange``): ``parse(head, body)`` into a
``ParsedRequest``, ``serialize`` / ``serialize_error`` into a ``WireResponse``. This package knows
nothing about SageMaker semantics.
"""

from endpointlab.emulator.heads import Head
from endpointlab.emulator.wire.cbor import CborCodec
from endpointlab.emulator.wire.exchange import (
    Codec,
    HttpHead,
    ParsedRequest,
    WireResponse,
    new_request_id,
)
from endpointlab.emulator.wire.json_rpc import JsonRpcCodec
from endpointlab.emulator.wire.models import EMULATED_SERVICES, service_model
from endpointlab.emulator.wire.query import QueryCodec, query_action, unserved_error
from endpointlab.emulator.wire.rest_json import RestJsonCodec
from endpointlab.emulator.wire.validation import (
    Validator,
    Violation,
    format_violations,
    validate,
    validation_error,
)

__all__ = [
    "EMULATED_SERVICES",
    "CborCodec",
    "Codec",
    "Head",
    "HttpHead",
    "JsonRpcCodec",
    "ParsedRequest",
    "QueryCodec",
    "RestJsonCodec",
    "Validator",
    "Violation",
    "WireResponse",
    "format_violations",
    "new_request_id",
    "query_action",
    "service_model",
    "unserved_error",
    "validate",
    "validation_error",
]

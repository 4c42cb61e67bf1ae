"""SageMaker resource tags: which resource an ARN names, and the rules tags must keep.

Pure functions over values the wire layer has already validated against the service model (tag
key/value lengths and patterns, at most 50 tags per request, the ResourceArn pattern). What the
model cannot express is checked here, with SageMaker's error where one was captured:

- a key starting with ``aws:`` is refused. Captured from SageMaker's DeleteTags:
  ``ValidationException: System prefix 'aws:' reserved for AWS usage in tag key:
  aws:cloudformation:stack-name`` (aws/sagemaker-python-sdk issue #1301). That AddTags and the
  Create* calls answer the same, and that the prefix is matched in any case (AWS's tagging
  guide: "aws:" in any combination of upper or lowercase is reserved), is UNCONFIRMED;
- a resource may carry at most 50 tags (AWS's tagging quota); the wording is UNCONFIRMED;
- an ARN naming nothing the emulator holds (another region or account, another resource type, a
  deleted resource) is a ValidationException (SageMaker answers ListTags/AddTags on a deleted
  resource with ValidationException: aws/amazon-sagemaker-feedback issue #108); the message is
  UNCONFIRMED, worded like SageMaker's own ``Could not find endpoint "arn:..."``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.errors import ServiceError
from endpointlab.emulator.records import ACCOUNT_ID, ResourceKind

MAX_TAGS_PER_RESOURCE = 50
RESERVED_PREFIX = "aws:"

Tags = dict[str, str]


@dataclass(frozen=True)
class TaggedResource:
    """The model, endpoint config or endpoint an ARN names: its kind, its name (as the ARN
    spells it) and whether it is in this emulator's partition, region and account."""

    kind: ResourceKind
    name: str
    here: bool


def resource_of(resource_arn: str, region: str) -> TaggedResource | None:
    """What ``resource_arn`` names, or None if it is no model, endpoint config or endpoint."""
    parts = resource_arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or parts[2] != "sagemaker":
        return None
    kind_text, _, name = parts[5].partition("/")
    kind = next((k for k in ResourceKind if k.value == kind_text), None)
    if kind is None or not name or "/" in name:
        return None
    here = parts[1] == "aws" and parts[3] == region and parts[4] == ACCOUNT_ID
    return TaggedResource(kind, name, here)


def not_found(resource_arn: str, kind: ResourceKind | None = None) -> ServiceError:
    """The error for an ARN naming no resource (message UNCONFIRMED, see the module doc)."""
    label = kind.label if kind is not None else "resource"
    return errors.TAG_RESOURCE_NOT_FOUND(label=label, arn=resource_arn)


def tags_of(wire_tags: Iterable[Mapping[str, Any]] | None) -> Tags:
    """``[{"Key": k, "Value": v}, ...]`` as an ordered dict; a repeated key keeps its last value."""
    out: Tags = {}
    for tag in wire_tags or ():
        out[str(tag["Key"])] = str(tag.get("Value", ""))
    return out


def wire_tags(tags: Mapping[str, str]) -> list[dict[str, str]]:
    """An ordered tag dict as the wire's ``TagList``."""
    return [{"Key": key, "Value": value} for key, value in tags.items()]


def check_keys(keys: Iterable[str]) -> None:
    """Refuse keys in the ``aws:`` namespace, which only AWS may set or remove."""
    for key in keys:
        if key[: len(RESERVED_PREFIX)].lower() == RESERVED_PREFIX:
            raise errors.RESERVED_TAG_KEY(prefix=RESERVED_PREFIX, key=key)


def merged(current: Mapping[str, str], added: Mapping[str, str], resource_arn: str) -> Tags:
    """``current`` with ``added`` set over it (existing keys overwritten in place), refused if
    the resource would carry more than 50 tags."""
    result = {**current, **added}
    if len(result) > MAX_TAGS_PER_RESOURCE:
        raise errors.TOO_MANY_TAGS(arn=resource_arn, count=len(result), limit=MAX_TAGS_PER_RESOURCE)
    return result


def without(current: Mapping[str, str], keys: Sequence[str]) -> Tags:
    """``current`` less ``keys`` (keys it does not have are ignored, as SageMaker ignores them)."""
    gone = set(keys)
    return {key: value for key, value in current.items() if key not in gone}

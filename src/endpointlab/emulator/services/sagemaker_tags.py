"""SageMaker's tagging operations on the emulator's resources: AddTags, ListTags, DeleteTags.

Tags name their resource by ARN (the one Describe*/Create* return, or any spelling of it that
differs only in the name's case); the registry keeps them with the resource and the store
persists them. ListTags pages with MaxResults (at least 50, the model says) and NextToken.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from endpointlab.emulator.control.registry import Registry, page_of
from endpointlab.emulator.control.tags import tags_of, wire_tags

Params = Mapping[str, Any]
Result = dict[str, Any]

LIST_TAGS_DEFAULT_MAX_RESULTS = 50


class SageMakerTags:
    """AddTags, ListTags and DeleteTags against the registry."""

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    def add_tags(self, params: Params) -> Result:
        added = tags_of(params["Tags"])
        self._registry.add_tags(params["ResourceArn"], added)
        # UNCONFIRMED: AddTagsOutput's "Tags" is documented as the tags "associated with the
        # resource"; the emulator answers with the tags this call added, as sent.
        return {"Tags": wire_tags(added)}

    def list_tags(self, params: Params) -> Result:
        tags = wire_tags(self._registry.tags(params["ResourceArn"]))
        maximum = params.get("MaxResults", LIST_TAGS_DEFAULT_MAX_RESULTS)
        page, token = page_of(tags, maximum, params.get("NextToken"))
        result: Result = {"Tags": page}
        if token:
            result["NextToken"] = token
        return result

    def delete_tags(self, params: Params) -> Result:
        self._registry.delete_tags(params["ResourceArn"], list(params["TagKeys"]))
        return {}

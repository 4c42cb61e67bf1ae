"""AsyncInferenceConfig as an async variant runs it, refused as SageMaker refuses it.

The wordings of these refusals are UNCONFIRMED (no capture of SageMaker's was found); the service
model checks the rest (required members, enums, lengths).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from endpointlab.emulator import sagemaker_errors as errors
from endpointlab.emulator.records import AsyncConfig

# IncludeInferenceResponseIn values and the topic each needs.
_RESPONSE_TOPICS = {
    "SUCCESS_NOTIFICATION_TOPIC": "SuccessTopic",
    "ERROR_NOTIFICATION_TOPIC": "ErrorTopic",
}


def async_config(params: Mapping[str, Any]) -> AsyncConfig:
    """The AsyncInferenceConfig member of a CreateEndpointConfig request, checked."""
    output = params["OutputConfig"]
    if not output.get("S3OutputPath"):
        raise errors.VALIDATION(
            message="S3OutputPath is required in AsyncInferenceConfig.OutputConfig."
        )
    notification = output.get("NotificationConfig") or {}
    included = tuple(notification.get("IncludeInferenceResponseIn") or ())
    for value in included:
        topic = _RESPONSE_TOPICS[value]  # the codec checked the enum
        if not notification.get(topic):
            raise errors.VALIDATION(
                message=f"IncludeInferenceResponseIn contains {value} but NotificationConfig "
                f"has no "
                f"{topic}."
            )
    if len(set(included)) != len(included):
        raise errors.VALIDATION(message="IncludeInferenceResponseIn must not repeat a topic type.")
    return AsyncConfig(
        output_path=output["S3OutputPath"],
        failure_path=output.get("S3FailurePath"),
        max_concurrent=(params.get("ClientConfig") or {}).get(
            "MaxConcurrentInvocationsPerInstance"
        ),
        success_topic=notification.get("SuccessTopic"),
        error_topic=notification.get("ErrorTopic"),
        include_response_in=included,
        kms_key_id=output.get("KmsKeyId"),
    )

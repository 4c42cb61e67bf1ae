"""Cached loading of botocore's installed service models, the source of truth for every wire format.

``service_model("sagemaker")`` returns the same ``botocore.model.ServiceModel`` on every call, so
codecs built from it share botocore's own per-shape caches. Only botocore's loader is consulted:
no network, no environment.
"""

from __future__ import annotations

from functools import cache

import botocore.session
from botocore.model import ServiceModel

# The services the emulator speaks, by botocore name.
EMULATED_SERVICES = (
    "sagemaker",
    "sagemaker-runtime",
    "cloudwatch",
    "application-autoscaling",
    "s3",
    "sts",
)


@cache
def service_model(name: str) -> ServiceModel:
    """The installed botocore model of service ``name`` (e.g. ``sagemaker-runtime``)."""
    return botocore.session.get_session().get_service_model(name)

"""IAM policy parsing and evaluation (emulator/auth/policy.py): wildcards, NotAction and
NotResource, explicit Deny over Allow, default deny, and refusal of what cannot be honoured."""

from __future__ import annotations

from typing import Any

import pytest

from endpointlab.emulator.auth.policy import Decision, PolicyError, evaluate, parse_policy

ENDPOINT = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/prod-ep"
OTHER = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/dev-ep"
CONFIG = "arn:aws:sagemaker:us-east-1:123456789012:endpoint-config/prod-ep"


def statement(effect: str = "Allow", **elements: Any) -> dict[str, Any]:
    return {"Effect": effect, **elements}


def decide(statements: list[dict[str, Any]], action: str, resource: str) -> Decision:
    policy = parse_policy({"Version": "2012-10-17", "Statement": statements}, "p")
    return evaluate([policy], action, resource)


ALLOW, IMPLICIT, EXPLICIT = Decision.ALLOW, Decision.IMPLICIT_DENY, Decision.EXPLICIT_DENY

TABLE = [
    # (statements, action, resource, expected)
    (
        [statement(Action="sagemaker:InvokeEndpoint", Resource=ENDPOINT)],
        "sagemaker:InvokeEndpoint",
        ENDPOINT,
        ALLOW,
    ),
    (
        [statement(Action="sagemaker:InvokeEndpoint", Resource=ENDPOINT)],
        "sagemaker:InvokeEndpoint",
        OTHER,
        IMPLICIT,
    ),
    (
        [statement(Action="sagemaker:InvokeEndpoint", Resource=ENDPOINT)],
        "sagemaker:CreateEndpoint",
        ENDPOINT,
        IMPLICIT,
    ),
    # Actions are case-insensitive, resources case-sensitive.
    (
        [statement(Action="SageMaker:invokeendpoint", Resource=ENDPOINT)],
        "sagemaker:InvokeEndpoint",
        ENDPOINT,
        ALLOW,
    ),
    (
        [
            statement(
                Action="sagemaker:InvokeEndpoint", Resource=ENDPOINT.replace("prod-ep", "PROD-EP")
            )
        ],
        "sagemaker:InvokeEndpoint",
        ENDPOINT,
        IMPLICIT,
    ),
    # Wildcards: * any run (across ':' and '/'), ? exactly one character.
    ([statement(Action="sagemaker:*", Resource="*")], "sagemaker:DeleteModel", CONFIG, ALLOW),
    (
        [statement(Action="sagemaker:Describe*", Resource="*")],
        "sagemaker:DescribeEndpointConfig",
        CONFIG,
        ALLOW,
    ),
    (
        [statement(Action="sagemaker:Describe*", Resource="*")],
        "sagemaker:DeleteModel",
        CONFIG,
        IMPLICIT,
    ),
    (
        [statement(Action="*", Resource="arn:aws:sagemaker:*:*:endpoint/prod-*")],
        "sagemaker:InvokeEndpoint",
        ENDPOINT,
        ALLOW,
    ),
    (
        [statement(Action="*", Resource="arn:aws:sagemaker:*:*:endpoint/prod-*")],
        "sagemaker:InvokeEndpoint",
        CONFIG,
        IMPLICIT,
    ),
    (
        [statement(Action="s3:GetObject", Resource="arn:aws:s3:::bucket/*")],
        "s3:GetObject",
        "arn:aws:s3:::bucket/a/b/c.txt",
        ALLOW,
    ),
    (
        [statement(Action="s3:GetObject", Resource="arn:aws:s3:::bucket/*")],
        "s3:GetObject",
        "arn:aws:s3:::bucket",
        IMPLICIT,
    ),
    (
        [statement(Action="s3:Get?bject", Resource="arn:aws:s3:::b/?")],
        "s3:GetObject",
        "arn:aws:s3:::b/k",
        ALLOW,
    ),
    (
        [statement(Action="s3:Get?bject", Resource="arn:aws:s3:::b/?")],
        "s3:GetObject",
        "arn:aws:s3:::b/kk",
        IMPLICIT,
    ),
    # A literal dot or bracket is not a regex.
    (
        [statement(Action="*", Resource="arn:aws:s3:::b/a.txt")],
        "s3:GetObject",
        "arn:aws:s3:::b/aXtxt",
        IMPLICIT,
    ),
    # NotAction / NotResource.
    (
        [statement(NotAction="sagemaker:Delete*", Resource="*")],
        "sagemaker:CreateModel",
        CONFIG,
        ALLOW,
    ),
    (
        [statement(NotAction="sagemaker:Delete*", Resource="*")],
        "sagemaker:DeleteModel",
        CONFIG,
        IMPLICIT,
    ),
    ([statement(Action="*", NotResource=ENDPOINT)], "sagemaker:InvokeEndpoint", OTHER, ALLOW),
    ([statement(Action="*", NotResource=ENDPOINT)], "sagemaker:InvokeEndpoint", ENDPOINT, IMPLICIT),
    # Explicit Deny wins, whatever the order; a Deny that does not apply changes nothing.
    (
        [
            statement(Action="*", Resource="*"),
            statement("Deny", Action="sagemaker:InvokeEndpoint", Resource=ENDPOINT),
        ],
        "sagemaker:InvokeEndpoint",
        ENDPOINT,
        EXPLICIT,
    ),
    (
        [
            statement("Deny", Action="sagemaker:*", Resource=ENDPOINT),
            statement(Action="sagemaker:InvokeEndpoint", Resource=ENDPOINT),
        ],
        "sagemaker:InvokeEndpoint",
        ENDPOINT,
        EXPLICIT,
    ),
    (
        [
            statement(Action="*", Resource="*"),
            statement("Deny", Action="sagemaker:InvokeEndpoint", Resource=ENDPOINT),
        ],
        "sagemaker:InvokeEndpoint",
        OTHER,
        ALLOW,
    ),
    (
        [
            statement("Deny", NotAction="sagemaker:InvokeEndpoint", Resource="*"),
            statement(Action="*", Resource="*"),
        ],
        "sagemaker:CreateEndpoint",
        ENDPOINT,
        EXPLICIT,
    ),
    # Lists of actions and resources.
    (
        [
            statement(
                Action=["sagemaker:CreateModel", "sagemaker:DescribeModel"],
                Resource=[ENDPOINT, CONFIG],
            )
        ],
        "sagemaker:DescribeModel",
        CONFIG,
        ALLOW,
    ),
    # Nothing applies: the default is deny.
    ([statement("Deny", Action="s3:*", Resource="*")], "sagemaker:ListModels", "*", IMPLICIT),
]


@pytest.mark.parametrize(("statements", "action", "resource", "expected"), TABLE)
def test_evaluation(
    statements: list[dict[str, Any]], action: str, resource: str, expected: Decision
) -> None:
    assert decide(statements, action, resource) is expected


def test_deny_in_one_policy_overrides_allow_in_another() -> None:
    allow = parse_policy({"Statement": statement(Action="*", Resource="*")}, "a")
    deny = parse_policy({"Statement": [statement("Deny", Action="s3:*", Resource="*")]}, "b")
    assert evaluate([allow, deny], "s3:GetObject", "arn:aws:s3:::b/k") is EXPLICIT
    assert evaluate([allow, deny], "sagemaker:ListModels", "*") is ALLOW
    assert evaluate([], "sagemaker:ListModels", "*") is IMPLICIT


REFUSED = [
    ([], "p: a policy must be a JSON object"),
    ({"Version": "2012-10-17"}, "p: missing Statement"),
    ({"Statement": []}, "p: Statement must be an object or a non-empty list of objects"),
    (
        {"Version": "2020-01-01", "Statement": {}},
        "p: Version must be one of 2012-10-17, 2008-10-17, got '2020-01-01'",
    ),
    ({"Statement": {}, "Extra": 1}, "p: unknown element 'Extra'"),
    (
        {"Statement": [statement(Action="*", Resource="*", Condition={"Bool": {}})]},
        "p.Statement[0]: Condition is not allowed: conditions are not supported by the emulator",
    ),
    (
        {"Statement": [statement(Action="*", Resource="*", Principal="*")]},
        "p.Statement[0]: Principal is not allowed: identity policies cannot name a Principal",
    ),
    (
        {"Statement": [statement("Permit", Action="*", Resource="*")]},
        'p.Statement[0]: Effect must be "Allow" or "Deny", got \'Permit\'',
    ),
    (
        {"Statement": [{"Action": "*", "Resource": "*"}]},
        'p.Statement[0]: Effect must be "Allow" or "Deny", got None',
    ),
    (
        {"Statement": [statement(Resource="*")]},
        "p.Statement[0]: needs exactly one of Action or NotAction",
    ),
    (
        {"Statement": [statement(Action="*", NotAction="s3:*", Resource="*")]},
        "p.Statement[0]: needs exactly one of Action or NotAction",
    ),
    (
        {"Statement": [statement(Action="*")]},
        "p.Statement[0]: needs exactly one of Resource or NotResource",
    ),
    (
        {"Statement": [statement(Action="InvokeEndpoint", Resource="*")]},
        'p.Statement[0].Action: action \'InvokeEndpoint\' must be "*" or "<service>:<action>" '
        '(e.g. "sagemaker:InvokeEndpoint")',
    ),
    (
        {"Statement": [statement(Action=[], Resource="*")]},
        "p.Statement[0].Action: must be a string or a non-empty list of strings",
    ),
    (
        {"Statement": [statement(Action="*", Resource="endpoint/x")]},
        "p.Statement[0].Resource: resource 'endpoint/x' must be an ARN or \"*\"",
    ),
    (
        {"Statement": [statement(Action="*", Resource="arn:aws:s3:::${aws:username}/*")]},
        "p.Statement[0].Resource: policy variables such as 'arn:aws:s3:::${aws:username}/*' are "
        "not supported",
    ),
    (
        {"Statement": [statement(Sid=3, Action="*", Resource="*")]},
        "p.Statement[0]: Sid must be a string",
    ),
]


@pytest.mark.parametrize(("document", "message"), REFUSED)
def test_what_cannot_be_honoured_is_refused_by_name(document: Any, message: str) -> None:
    with pytest.raises(PolicyError) as caught:
        parse_policy(document, "p")
    assert str(caught.value) == message

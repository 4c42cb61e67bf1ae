"""``--target aws`` before anything is created: the connection (credentials, region, role,
image, a model in S3), then what will be deployed with an estimated cost, held under
``--max-cost`` and confirmed (or ``--yes``)."""

from __future__ import annotations

from collections.abc import Callable

import boto3

from endpointlab.analysis.cost import PriceTable
from endpointlab.bench.estimate import estimate
from endpointlab.bench.plan import Plan
from endpointlab.bench.targets import Connection, TargetError, aws_connection


class AwsPlanError(Exception):
    """The plan cannot go to AWS (or was not confirmed); one line for the user."""


def confirm_aws(
    plan: Plan,
    prices: PriceTable,
    max_cost: float | None,
    yes: bool,
    say: Callable[[str], None],
    confirm: Callable[[str], bool],
) -> None:
    """Show the plan and its estimate; AwsPlanError past ``max_cost`` or if not confirmed."""
    quote = estimate(plan, prices)
    say(f"On AWS ({prices.region}) this plan deploys, one at a time:\n")
    for line in quote.lines:
        cost = "price unknown" if line.usd is None else f"at most ${line.usd:.2f}"
        say(f"  {line.configuration:<24} {line.what:<44} {cost}\n")
    total = quote.total_usd
    say(f"Estimated cost: {'unknown' if total is None else f'at most ${total:.2f}'}\n")
    if max_cost is not None:
        if total is None:
            raise AwsPlanError(
                f"cannot hold the run under --max-cost: no price for {', '.join(quote.unpriced())}"
            )
        if total > max_cost:
            raise AwsPlanError(
                f"the estimate ${total:.2f} exceeds --max-cost ${max_cost:.2f}: nothing was created"
            )
    if not yes and not confirm("Deploy these endpoints on AWS?"):
        raise AwsPlanError("not confirmed: nothing was created")


def aws_target(plan: Plan, url: str | None) -> Connection:
    """The AWS connection ``plan`` needs, its model at ``url``."""
    if url is not None and not url.startswith("s3://"):
        raise AwsPlanError("--target aws needs the model in S3: model.artifact: s3://bucket/key")
    role = plan.aws.role_arn
    image = plan.model.image or plan.aws.image
    if not role:
        raise AwsPlanError("--target aws needs an execution role: --role-arn or aws.role_arn")
    if not image and plan.model.model_name is None:
        raise AwsPlanError(
            "--target aws needs the inference image: --image or model.image in the plan"
        )
    try:
        session = boto3.session.Session(region_name=plan.aws.region)
        return aws_connection(session, role, image or "")
    except TargetError as error:
        raise AwsPlanError(str(error)) from None

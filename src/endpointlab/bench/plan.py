"""Benchmark plans: what to deploy, how to load it, what it must meet and the traffic to price.

A plan is YAML validated by pydantic; ``load_plan`` turns the first problem into one line that
names the field and the line of the file it is on (pyyaml's marks), e.g.
``plan.yaml line 12: configurations.1.memory_mb: must be one of 1024, 2048, ...``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from endpointlab.loadgen.shapes import ShapeError, parse_duration
from endpointlab.results.run_result import Objective, Traffic

SERVERLESS_MEMORY_MB = (1024, 2048, 3072, 4096, 5120, 6144)
BEST = "best"


class PlanError(ValueError):
    """A plan that cannot be run; the message is one line naming the field (and line)."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _seconds(value: Any, what: str) -> float:
    try:
        return parse_duration(value, what)
    except ShapeError as error:
        raise ValueError(str(error).split(": ", 1)[-1]) from None


class ModelSource(_Strict):
    """The model: a local model.tar.gz (or directory), an ``s3://`` URL, or an existing model."""

    artifact: str | None = None
    model_name: str | None = None
    invoke_args: str | None = None  # JSON lines of InvokeEndpoint arguments
    image: str | None = None  # the inference image (AWS); the emulator serves any artifact
    environment: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _one_source(self) -> ModelSource:
        if (self.artifact is None) == (self.model_name is None):
            raise ValueError("give exactly one of artifact or model_name")
        return self


class AwsSettings(_Strict):
    """What ``--target aws`` needs beyond the user's credentials."""

    region: str | None = None
    role_arn: str | None = None
    image: str | None = None


class Phase(_Strict):
    """One load phase: a burst, a closed loop or an open loop (a rate or a ramp)."""

    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._-]+$")
    duration: float | None = None
    requests: int | None = Field(default=None, ge=1)  # a burst
    clients: int | None = Field(default=None, ge=1)  # a closed loop
    # a closed loop of ceil(MaxConcurrency x this) clients (serverless configurations)
    clients_per_concurrency: float | None = Field(default=None, gt=0)
    think_time: float = Field(default=0.0, ge=0)
    rate: float | tuple[float, float] | None = None  # an open loop, requests/s (or a ramp)
    arrival: Literal["constant", "poisson"] = "constant"
    pause_before: float = Field(default=0.0, ge=0)  # idle seconds first (forces a cold start)
    stop_on_objective: bool = False  # end the configuration when this phase breaks the objective

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return None if value is None else _seconds(value, "duration")

    @field_validator("pause_before", mode="before")
    @classmethod
    def _pause(cls, value: Any) -> Any:
        return value if value in (0, None) else _seconds(value, "pause_before")

    @field_validator("rate")
    @classmethod
    def _rate(cls, value: Any) -> Any:
        rates = value if isinstance(value, tuple) else (value,)
        if value is not None and not all(math.isfinite(r) and r >= 0 for r in rates):
            raise ValueError("rates are finite and not negative")
        if value is not None and max(rates) <= 0:
            raise ValueError("a rate must be positive")
        return value

    @model_validator(mode="after")
    def _one_shape(self) -> Phase:
        shapes = [
            n
            for n in ("requests", "clients", "clients_per_concurrency", "rate")
            if getattr(self, n) is not None
        ]
        if len(shapes) != 1:
            raise ValueError(
                "give exactly one of requests (burst), clients or clients_per_concurrency "
                "(closed loop) or rate (open loop)"
            )
        if shapes[0] == "requests" and self.duration is not None:
            raise ValueError("a burst (requests) has no duration")
        if shapes[0] != "requests" and self.duration is None:
            raise ValueError(f"{shapes[0]} needs a duration")
        return self


class _Configuration(_Strict):
    name: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9-]+$")
    phases: list[Phase] | None = None  # instead of the plan's phases


class Serverless(_Configuration):
    kind: Literal["serverless"]
    memory_mb: int | Literal["best"]
    max_concurrency: int = Field(default=1, ge=1, le=200)
    provisioned_concurrency: int | None = Field(default=None, ge=1, le=200)

    @field_validator("memory_mb")
    @classmethod
    def _memory(cls, value: int | str) -> int | str:
        if value != BEST and value not in SERVERLESS_MEMORY_MB:
            sizes = ", ".join(str(s) for s in SERVERLESS_MEMORY_MB)
            raise ValueError(f"must be one of {sizes} (or 'best')")
        return value

    @model_validator(mode="after")
    def _provisioned(self) -> Serverless:
        pc = self.provisioned_concurrency
        if pc is not None and pc > self.max_concurrency:
            raise ValueError("provisioned_concurrency cannot exceed max_concurrency")
        return self


class Autoscaling(_Strict):
    """A target-tracking policy on SageMakerVariantInvocationsPerInstance (per minute, as AWS
    counts it) between min_instances and max_instances."""

    min_instances: int = Field(default=1, ge=1)
    max_instances: int = Field(ge=1)
    target_invocations_per_instance: float = Field(gt=0)
    scale_in_cooldown: float = 300.0
    scale_out_cooldown: float = 300.0

    @field_validator("scale_in_cooldown", "scale_out_cooldown", mode="before")
    @classmethod
    def _cooldown(cls, value: Any) -> Any:
        return value if value == 0 else _seconds(value, "cooldown")

    @model_validator(mode="after")
    def _range(self) -> Autoscaling:
        if self.min_instances > self.max_instances:
            raise ValueError("min_instances cannot exceed max_instances")
        return self


class Realtime(_Configuration):
    kind: Literal["realtime"]
    instance_type: str = Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    instance_count: int = Field(default=1, ge=1)
    autoscaling: Autoscaling | None = None

    @model_validator(mode="after")
    def _within(self) -> Realtime:
        scaling = self.autoscaling
        if scaling and not scaling.min_instances <= self.instance_count <= scaling.max_instances:
            raise ValueError("instance_count must lie between min_instances and max_instances")
        return self


class Async(_Configuration):
    """An asynchronous endpoint scaled between ``min_instances`` and ``instance_count`` by AWS's
    scale-to-zero recipe (target tracking on the backlog per instance, ``backlog_target``)."""

    kind: Literal["async"]
    instance_type: str = Field(pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$")
    instance_count: int = Field(default=1, ge=1)
    min_instances: int = Field(default=0, ge=0)
    backlog_target: float = Field(default=5.0, gt=0)
    max_concurrent_invocations_per_instance: int | None = Field(default=None, ge=1, le=1000)
    deadline: float | None = None  # a caller's deadline per request (s): later results are lost


Configuration = Annotated[Serverless | Realtime | Async, Field(discriminator="kind")]


class Warmup(_Strict):
    requests: int = Field(default=0, ge=0)  # sequential requests before the phases, not scored


class Plan(_Strict):
    """A whole benchmark plan."""

    name: str = Field(min_length=1, max_length=60, pattern=r"^[A-Za-z0-9._-]+$")
    description: str = ""
    model: ModelSource
    target: Literal["local", "aws"] = "local"
    provisioning: Literal["instant", "aws"] = "instant"
    aws: AwsSettings = AwsSettings()
    objective: Objective
    traffic: Traffic | None = None
    warmup: Warmup = Warmup()
    stop_error_rate: float = Field(default=0.5, gt=0, le=1)  # stop a configuration past this
    deadline: float | None = Field(default=None, gt=0)  # caller deadline per request (s)
    # local target: the emulator's scaling clock (serve --scaling-clock; 60: a minute a second)
    scaling_clock: float = Field(default=1.0, ge=1, le=3600)
    # attempts per request (retries + 1); None: botocore's default (legacy mode, as boto3's)
    max_attempts: int | None = Field(default=None, ge=1)
    configurations: list[Configuration] = Field(min_length=1)
    phases: list[Phase] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> Plan:
        names = [c.name for c in self.configurations]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"configuration names repeat: {', '.join(twice)}")
        for config in self.configurations:
            if not (config.phases or self.phases):
                raise ValueError(f"configuration {config.name!r} has no phases (nor has the plan)")
            per = [p.name for p in self.phases_of(config) if p.clients_per_concurrency]
            if per and config.kind != "serverless":
                raise ValueError(
                    f"clients_per_concurrency (phase {per[0]}) needs a serverless configuration, "
                    f"not {config.name!r}"
                )
        return self

    def phases_of(self, config: Serverless | Realtime | Async) -> list[Phase]:
        return config.phases or self.phases

    def kinds(self) -> set[str]:
        return {c.kind for c in self.configurations}


def _lines(node: yaml.Node, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    out[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            _lines(value, (*path, key.value), out)
            out[(*path, key.value)] = key.start_mark.line + 1
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), out)


def _message(error: ValidationError, lines: Mapping[tuple[Any, ...], int], where: str) -> str:
    first = error.errors()[0]
    # A discriminated union adds the tag to the location: drop it to get the document's path.
    loc = tuple(p for p in first["loc"] if p not in ("serverless", "realtime", "async"))
    loc = tuple(str(p) if not isinstance(p, int) else p for p in loc)
    message = str(first["msg"]).removeprefix("Value error, ")
    if first["type"] in ("union_tag_invalid", "union_tag_not_found"):
        loc = (*loc, "kind")
        message = "must be one of serverless, realtime, async"
    elif first["type"] == "extra_forbidden":
        message = "unknown field"
    elif first["type"] == "missing":
        message = "required field missing"
    line = None
    for cut in range(len(loc), -1, -1):
        line = lines.get(loc[:cut])
        if line is not None:
            break
    field = ".".join(str(p) for p in loc) or "plan"
    at = f" line {line}" if line is not None else ""
    return f"{where}{at}: {field}: {message}"


def parse_plan(text: str, where: str = "plan") -> Plan:
    """A Plan from YAML text; PlanError naming the field and line of the first problem."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        at = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(error, "problem", None) or "not valid YAML"
        raise PlanError(f"{where}{at}: {problem}") from None
    if not isinstance(data, dict) or node is None:
        raise PlanError(f"{where}: a plan is a YAML mapping (name, model, configurations, ...)")
    lines: dict[tuple[Any, ...], int] = {}
    _lines(node, (), lines)
    try:
        return Plan.model_validate(data)
    except ValidationError as error:
        raise PlanError(_message(error, lines, where)) from None


def load_plan(path: Path) -> Plan:
    """The plan in the YAML file ``path``."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PlanError(f"cannot read the plan {path}: {error.strerror}") from None
    return parse_plan(text, str(path))


def plan_yaml(plan: Plan) -> str:
    """The plan as YAML (what a run directory keeps as plan.yaml)."""
    data = plan.model_dump(mode="json", exclude_defaults=True)
    return yaml.safe_dump(data, sort_keys=False)

"""Coral-style validation: constraints from botocore's models, messages worded as AWS words them."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from endpointlab.emulator.wire import (
    EMULATED_SERVICES,
    Validator,
    format_violations,
    service_model,
    validate,
    validation_error,
)
from endpointlab.emulator.wire.constraints import java_number
from endpointlab.emulator.wire.javaregex import compile_java
from endpointlab.emulator.wire.validation import MAX_REPORTED

SAGEMAKER = service_model("sagemaker")
CONFIG = SAGEMAKER.operation_model("CreateEndpointConfig").input_shape
MODEL = SAGEMAKER.operation_model("CreateModel").input_shape
INVOKE = service_model("sagemaker-runtime").operation_model("InvokeEndpoint").input_shape
VARIANT = {"VariantName": "AllTraffic", "ModelName": "m1", "InstanceType": "ml.m5.large"}


def config(**variant: Any) -> dict[str, Any]:
    return {"EndpointConfigName": "cfg", "ProductionVariants": [{**VARIANT, **variant}]}


def message(shape: Any, params: dict[str, Any]) -> str:
    return format_violations(validate(shape, params))


def test_a_valid_request_has_no_violations() -> None:
    assert validate(CONFIG, config(InitialInstanceCount=1, InitialVariantWeight=0.5)) == []


def test_pattern_on_a_nested_list_member_names_the_coral_path_and_the_model_pattern() -> None:
    pattern = CONFIG.members["ProductionVariants"].member.members["ModelName"].metadata["pattern"]
    assert message(CONFIG, config(ModelName="m_1")) == (
        "1 validation error detected: Value 'm_1' at 'productionVariants.1.member.modelName' "
        f"failed to satisfy constraint: Member must satisfy regular expression pattern: {pattern}"
    )


def test_patterns_must_match_the_whole_value_even_though_the_model_leaves_them_unanchored() -> None:
    (violation,) = validate(CONFIG, {**config(), "EndpointConfigName": "ok-name-but_then"})
    assert violation.path == "endpointConfigName"
    assert violation.constraint.startswith("Member must satisfy regular expression pattern")


def test_length_and_range_violations_use_corals_wording() -> None:
    params = config(ServerlessConfig={"MemorySizeInMB": 10240, "MaxConcurrency": 0})
    params["EndpointConfigName"] = "a" * 64
    pattern = CONFIG.members["EndpointConfigName"].metadata["pattern"]
    assert message(CONFIG, params) == (
        "4 validation errors detected: "
        f"Value '{'a' * 64}' at 'endpointConfigName' failed to satisfy constraint: "
        "Member must have length less than or equal to 63; "
        f"Value '{'a' * 64}' at 'endpointConfigName' failed to satisfy constraint: "
        f"Member must satisfy regular expression pattern: {pattern}; "
        "Value '10240' at 'productionVariants.1.member.serverlessConfig.memorySizeInMB' failed "
        "to satisfy constraint: Member must have value less than or equal to 6144; "
        "Value '0' at 'productionVariants.1.member.serverlessConfig.maxConcurrency' failed to "
        "satisfy constraint: Member must have value greater than or equal to 1"
    )


def test_floating_bounds_and_values_print_like_java_doubles() -> None:
    (violation,) = validate(CONFIG, config(InitialVariantWeight=-1))
    assert str(violation) == (
        "Value '-1.0' at 'productionVariants.1.member.initialVariantWeight' failed to satisfy "
        "constraint: Member must have value greater than or equal to 0.0"
    )


def test_enum_lists_the_model_values_in_brackets() -> None:
    (violation,) = validate(CONFIG, config(InstanceType="ml.t9.tiny"))
    enum = CONFIG.members["ProductionVariants"].member.members["InstanceType"].enum
    assert violation.constraint == f"Member must satisfy enum value set: [{', '.join(enum)}]"
    assert str(violation).startswith(
        "Value 'ml.t9.tiny' at 'productionVariants.1.member.instanceType' failed to satisfy "
        "constraint: Member must satisfy enum value set: [ml.t2.medium, "
    )


def test_missing_required_members_are_null_at_every_depth() -> None:
    variant = {k: v for k, v in VARIANT.items() if k != "VariantName"}
    assert message(CONFIG, {"ProductionVariants": [variant]}) == (
        "2 validation errors detected: "
        "Value null at 'endpointConfigName' failed to satisfy constraint: "
        "Member must not be null; "
        "Value null at 'productionVariants.1.member.variantName' failed to satisfy constraint: "
        "Member must not be null"
    )


def test_null_list_elements_and_list_lengths() -> None:
    assert message(CONFIG, {"EndpointConfigName": "c", "ProductionVariants": [VARIANT, None]}) == (
        "1 validation error detected: Value null at 'productionVariants.2.member' failed to "
        "satisfy constraint: Member must not be null"
    )
    assert message(CONFIG, {"EndpointConfigName": "c", "ProductionVariants": []}) == (
        "1 validation error detected: Value '[]' at 'productionVariants' failed to satisfy "
        "constraint: Member must have length greater than or equal to 1"
    )


def test_list_indexes_are_one_based_and_lists_of_strings_print_in_java_form() -> None:
    params = config(VariantName="ok")
    params["ProductionVariants"].append({**VARIANT, "VariantName": "bad_name"})
    (violation,) = validate(CONFIG, params)
    assert violation.path == "productionVariants.2.member.variantName"
    vpc = {**config(), "VpcConfig": {"SecurityGroupIds": ["sg-1", "bad id"], "Subnets": ["s-1"]}}
    (violation,) = validate(CONFIG, vpc)
    assert (violation.path, violation.shown) == ("vpcConfig.securityGroupIds.2.member", "'bad id'")


def test_map_keys_and_values_are_reported_once_per_map_with_every_constraint() -> None:
    container = {"Image": "img", "Environment": {"1BAD": "x", "ALSO BAD": "y", "OK": "z"}}
    (violation,) = validate(MODEL, {"ModelName": "m", "PrimaryContainer": container})
    assert str(violation) == (
        "Value '{1BAD=x, ALSO BAD=y, OK=z}' at 'primaryContainer.environment' failed to satisfy "
        "constraint: Map keys must satisfy constraint: [Member must have length less than or "
        "equal to 1024, Member must have length greater than or equal to 0, Member must satisfy "
        "regular expression pattern: [a-zA-Z_][a-zA-Z0-9_]*]"
    )
    container = {"Image": "img", "Environment": {"A": "v" * 1025}}
    (violation,) = validate(MODEL, {"ModelName": "m", "PrimaryContainer": container})
    assert violation.constraint.startswith(
        "Map value must satisfy constraint: [Member must have length less than or equal to 1024, "
    )


def test_sensitive_values_are_withheld_like_cognitos_password() -> None:
    params = {"EndpointName": "ep", "Body": b"x", "CustomAttributes": "caf\u00e9"}
    assert message(INVOKE, params) == (
        "1 validation error detected: Value at 'customAttributes' failed to satisfy constraint: "
        "Member must satisfy regular expression pattern: \\p{ASCII}*"
    )
    (violation,) = validate(INVOKE, {"EndpointName": "ep", "Body": b"x" * 6291457})
    assert str(violation) == (
        "Value at 'body' failed to satisfy constraint: "
        "Member must have length less than or equal to 6291456"
    )


def test_lengths_count_utf16_units_as_java_does() -> None:
    letter = "\U0001d400"  # MATHEMATICAL BOLD CAPITAL A: a letter outside the BMP, 2 UTF-16 units
    assert validate(CONFIG, {**config(), "Tags": [{"Key": letter * 64, "Value": "v"}]}) == []
    (violation,) = validate(CONFIG, {**config(), "Tags": [{"Key": letter * 65, "Value": "v"}]})
    assert violation.path == "tags.1.member.key"
    assert violation.constraint == "Member must have length less than or equal to 128"


def test_reports_stop_at_ten_like_coral() -> None:
    tags = [{"Key": "", "Value": "v"} for _ in range(MAX_REPORTED + 5)]
    found = validate(CONFIG, {**config(), "Tags": tags})
    assert len(found) == MAX_REPORTED
    assert format_violations(found).startswith("10 validation errors detected: ")


def test_wrong_python_types_are_reported_not_raised() -> None:
    (violation,) = validate(CONFIG, config(InitialInstanceCount="one"))
    assert violation.constraint == "Member must be of type integer"
    assert validate(CONFIG, {"EndpointConfigName": 5, "ProductionVariants": {}})  # no crash


def test_validation_error_is_a_400_service_error_with_the_message() -> None:
    error = validation_error("ValidationException", validate(CONFIG, config(ModelName="m_1")))
    assert (error.code, error.status, error.sender_fault) == ("ValidationException", 400, True)
    assert error.message.startswith("1 validation error detected: Value 'm_1'")


@pytest.mark.parametrize(
    ("number", "text"),
    [(42, "42"), (1.0, "1.0"), (0.0, "0.0"), (-2.5, "-2.5"), (1e7, "1.0E7"), (1.5e-4, "1.5E-4"),
     (123456.789, "123456.789"), (float("nan"), "NaN"), (float("-inf"), "-Infinity")],
)  # fmt: skip
def test_java_number_formatting(number: float, text: str) -> None:
    assert java_number(number) == text


@pytest.mark.parametrize("service", EMULATED_SERVICES)
def test_every_pattern_of_the_emulated_services_compiles(service: str) -> None:
    model = service_model(service)
    patterns = {model.shape_for(n).metadata.get("pattern") for n in model.shape_names}
    for pattern in patterns - {None}:
        compile_java(pattern)  # raises UnsupportedPatternError otherwise


@pytest.mark.parametrize(
    ("pattern", "value", "matches"),
    [
        ("\\A\\S[\\p{Print}]*\\z", "id 1", True),
        ("\\A\\S[\\p{Print}]*\\z", " id", False),
        ("\\A\\S[\\p{Print}]*\\z", "id\n", False),
        ("\\p{ASCII}*", "caf\u00e9", False),
        ("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", "\u65e5\u672c 12", True),
        ("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*", "a#b", False),
        ("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*", "\U0001f600", True),
        ("[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF\\t]*", "\x01", False),
        (".*", "a\rb", False),
        ("[\\w]+", "\u00e9", False),
        ("([\\p{L}\\p{Z}\\p{N}_.:\\/=+\\-@]*)${1,128}", "key", True),
    ],
)
def test_java_regex_semantics(pattern: str, value: str, matches: bool) -> None:
    assert (compile_java(pattern).fullmatch(value) is not None) is matches


def _values(shape: Any, depth: int) -> st.SearchStrategy[Any]:
    kind = shape.type_name
    if kind == "structure":
        if depth > 3:
            return st.just({})
        members = {name: _values(member, depth + 1) for name, member in shape.members.items()}
        return st.fixed_dictionaries({}, optional=members)
    if kind == "list":
        return st.lists(st.none() | _values(shape.member, depth + 1), max_size=3)
    if kind == "map":
        return st.dictionaries(st.text(max_size=5), _values(shape.value, depth + 1), max_size=2)
    if kind == "string":
        enum = list(getattr(shape, "enum", None) or [])
        return st.sampled_from(enum) if enum and depth % 2 else st.text(max_size=70)
    if kind in ("integer", "long"):
        return st.integers(-3, 7000)
    if kind in ("float", "double"):
        return st.floats(-2, 200, allow_nan=False)
    if kind == "boolean":
        return st.booleans()
    return st.none()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=_values(CONFIG, 0))
def test_the_quick_pass_and_the_reporting_walk_always_agree(params: dict[str, Any]) -> None:
    validator = Validator()
    assert validator.accepts(CONFIG, params) == (validator.violations(CONFIG, params) == [])

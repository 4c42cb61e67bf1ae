"""The import rules of docs/architecture.md, checked on the source tree with ``ast``."""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "endpointlab"
# Every rule names packages that exist (test_every_rule_names_an_existing_package), so no rule
# passes only because its package is missing. The rule of a package not yet written waits in
# PARKED, which must name only missing packages (test_parked_rules_wait_for_their_package): the
# commit that adds the package moves its rule into the tables below.
# The benchmark side never imports endpointlab.emulator.
BENCHMARK_SIDE: tuple[str, ...] = (
    "results",
    "loadgen",
    "analysis",
    "bench",
    "reports",
    "simulate",
)
# No clock, sockets, processes, environment or AWS clients.
PURE: tuple[str, ...] = ("analysis", "simulate")
PARKED: dict[str, str] = {}
# The pipeline's packages and the only packages of ours each may import (besides itself).
PIPELINE_ALLOWED = {
    "results": (),
    "loadgen": ("results",),
    "analysis": ("results", "catalogue"),
    # bench starts the emulator only as a process.
    "bench": (
        "results",
        "loadgen",
        "analysis",
        "simulate",
        "models",
        "catalogue",
        "prices",
        "config",
    ),
    "reports": ("results", "analysis"),
    "simulate": ("results", "analysis"),
}
# `results` is a leaf the analysis side also reads: the standard library, pyarrow and pydantic.
RESULTS_THIRD_PARTY = frozenset({"pyarrow", "pydantic"})
# Inside the emulator, imports run one way: wire -> services -> control -> endpoints -> workers;
# `records` (the resource records) is a leaf both control and endpoints read.
# `autoscaling` sits between services and control: it scales through the control plane.
EMULATOR_FORBIDDEN = {
    "records": ("wire", "services", "control", "endpoints", "workers", "metrics", "autoscaling"),
    "wire": ("services", "control", "endpoints", "workers", "metrics", "autoscaling"),
    "services": ("wire",),
    "autoscaling": ("wire", "services"),
    "control": ("wire", "services", "autoscaling"),
    "endpoints": ("wire", "services", "control", "autoscaling"),
    "workers": ("wire", "services", "control", "endpoints", "autoscaling"),
    # Metrics are a leaf the data plane records into and the CloudWatch service reads from.
    "metrics": ("wire", "services", "control", "endpoints", "workers", "autoscaling"),
}
# Endpoint kinds are plug-ins: outside endpoints/, code sees only these modules of it (the
# interface, the fleet and the table of kinds), never a concrete kind's module.
ENDPOINTS_PUBLIC = ("base", "fleet", "kinds")
# A kind's own record fields are read only by endpoints/ (the kinds), the records that define
# them and the store that persists them: control, services and the emulator's top-level modules
# ask the kind instead (EndpointKind), so a new kind adds no branch there.
KIND_FIELDS = frozenset({"serverless", "desired_serverless", "is_serverless"})
KIND_BLIND = ("emulator.control", "emulator.services")  # and emulator/*.py
KIND_FIELDS_READERS = ("emulator.records", "emulator.control.store")
AWS_FREE = ("emulator.workers",)  # nothing from boto3 or botocore
# workers/ holds two stacks that share nothing: the container (`endpointlab container`) and the
# emulator's forked instances. The emulator's layers use only the latter (the CLI runs the former).
WORKERS_FORBIDDEN = {"container": ("fork",), "fork": ("container",)}
CONTAINER_STACK = "emulator.workers.container"
IMPURE_MODULES = ("time", "socket", "subprocess", "os", "boto3", "botocore", "http", "urllib")


def modules() -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE.parent).with_suffix("")
        name = ".".join(relative.parts).removesuffix(".__init__")
        yield name, ast.parse(path.read_text(), filename=str(path))


def imported(tree: ast.Module, module: str) -> set[str]:
    names: set[str] = set()
    package = module.rsplit(".", 1)[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                names.add(".".join([*base, node.module or ""]).rstrip("."))
            elif node.module:
                names.add(node.module)
    return names


def within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


ALL = list(modules())


def test_the_tree_is_found() -> None:
    assert any(name == "endpointlab.cli" for name, _ in ALL)


def exists(package: str) -> bool:
    path = PACKAGE.joinpath(*package.split("."))
    return (path / "__init__.py").is_file() or path.with_suffix(".py").is_file()


def ruled_packages() -> set[str]:
    emulator = {f"emulator.{layer}" for layer in EMULATOR_FORBIDDEN}
    emulator |= {f"emulator.{f}" for forbidden in EMULATOR_FORBIDDEN.values() for f in forbidden}
    pipeline = {p for package, allowed in PIPELINE_ALLOWED.items() for p in (package, *allowed)}
    workers = {f"emulator.workers.{n}" for s, o in WORKERS_FORBIDDEN.items() for n in (s, *o)}
    kinds = {*KIND_BLIND, *KIND_FIELDS_READERS}
    ruled = {*BENCHMARK_SIDE, *PURE, *AWS_FREE, *emulator, *pipeline, *workers, *kinds}
    return {*ruled, "cli", "config"}


@pytest.mark.parametrize("package", sorted(ruled_packages()))
def test_every_rule_names_an_existing_package(package: str) -> None:
    assert exists(package), f"a rule names endpointlab.{package}, which does not exist"


def test_parked_rules_wait_for_their_package() -> None:
    landed = [f"{package} (into {PARKED[package]})" for package in PARKED if exists(package)]
    assert not landed, f"packages that exist now; move their rules out of PARKED: {landed}"


@pytest.mark.parametrize(("module", "tree"), ALL, ids=[name for name, _ in ALL])
def test_emulator_and_benchmark_side_never_import_each_other(module: str, tree: ast.Module) -> None:
    names = imported(tree, module)
    side = [f"endpointlab.{part}" for part in BENCHMARK_SIDE]
    if within(module, "endpointlab.emulator"):
        assert not [n for n in names if any(within(n, s) for s in side)]
    if any(within(module, s) for s in side):
        assert not [n for n in names if within(n, "endpointlab.emulator")]


@pytest.mark.parametrize(("module", "tree"), ALL, ids=[name for name, _ in ALL])
def test_pipeline_packages_import_only_what_they_may(module: str, tree: ast.Module) -> None:
    for package, allowed in PIPELINE_ALLOWED.items():
        if not within(module, f"endpointlab.{package}"):
            continue
        ours = [n for n in imported(tree, module) if within(n, "endpointlab")]
        permitted = [f"endpointlab.{p}" for p in (package, *allowed)]
        bad = [n for n in ours if not any(within(n, p) for p in permitted)]
        assert not bad, f"{module} ({package}) must not import {bad}"
    if within(module, "endpointlab.results"):
        outside = {n.split(".")[0] for n in imported(tree, module) if not within(n, "endpointlab")}
        extra = outside - set(sys.stdlib_module_names) - RESULTS_THIRD_PARTY - {"__future__"}
        assert not extra, f"{module} imports {sorted(extra)}: results is stdlib + pyarrow only"


@pytest.mark.parametrize(("module", "tree"), ALL, ids=[name for name, _ in ALL])
def test_emulator_layers_import_one_way(module: str, tree: ast.Module) -> None:
    for layer, forbidden in EMULATOR_FORBIDDEN.items():
        if within(module, f"endpointlab.emulator.{layer}"):
            bad = [
                n
                for n in imported(tree, module)
                if any(within(n, f"endpointlab.emulator.{f}") for f in forbidden)
            ]
            assert not bad, f"{module} ({layer}) must not import {bad}"


@pytest.mark.parametrize(("module", "tree"), ALL, ids=[name for name, _ in ALL])
def test_the_two_worker_stacks_stay_apart(module: str, tree: ast.Module) -> None:
    names = imported(tree, module)
    for stack, forbidden in WORKERS_FORBIDDEN.items():
        if within(module, f"endpointlab.emulator.workers.{stack}"):
            prefixes = [f"endpointlab.emulator.workers.{f}" for f in forbidden]
            bad = [n for n in names if any(within(n, p) for p in prefixes)]
            assert not bad, f"{module} (workers.{stack}) must not import {bad}"
    container = f"endpointlab.{CONTAINER_STACK}"
    if within(module, "endpointlab.emulator") and not within(module, container):
        bad = [n for n in names if within(n, container)]
        assert not bad, f"{module} must not import the container stack {bad}"


@pytest.mark.parametrize(("module", "tree"), ALL, ids=[name for name, _ in ALL])
def test_only_endpoints_know_the_concrete_kinds(module: str, tree: ast.Module) -> None:
    endpoints = "endpointlab.emulator.endpoints"
    if within(module, endpoints):
        return
    public = [f"{endpoints}.{name}" for name in ENDPOINTS_PUBLIC]
    bad = [
        n
        for n in imported(tree, module)
        if within(n, endpoints) and n != endpoints and not any(within(n, p) for p in public)
    ]
    assert not bad, f"{module} must reach endpoint kinds through endpoints.kinds, not {bad}"


@pytest.mark.parametrize(("module", "tree"), ALL, ids=[name for name, _ in ALL])
def test_outside_endpoints_no_code_reads_a_kinds_fields(module: str, tree: ast.Module) -> None:
    top_level = module.count(".") == 2 and (PACKAGE / "emulator" / f"{module[21:]}.py").is_file()
    blind = top_level or any(within(module, f"endpointlab.{p}") for p in KIND_BLIND)
    if not blind or any(module == f"endpointlab.{p}" for p in KIND_FIELDS_READERS):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in KIND_FIELDS:
            pytest.fail(f"{module} reads .{node.attr} at line {node.lineno}: ask the kind")


def test_the_public_endpoints_modules_exist() -> None:
    for name in ENDPOINTS_PUBLIC:
        assert exists(f"emulator.endpoints.{name}"), name


@pytest.mark.parametrize(("module", "tree"), ALL, ids=[name for name, _ in ALL])
def test_workers_know_nothing_about_aws_and_pure_packages_stay_pure(
    module: str, tree: ast.Module
) -> None:
    names = imported(tree, module)
    if any(within(module, f"endpointlab.{package}") for package in AWS_FREE):
        assert not [n for n in names if within(n, "boto3") or within(n, "botocore")]
    if any(within(module, f"endpointlab.{package}") for package in PURE):
        assert not [n for n in names if any(within(n, m) for m in IMPURE_MODULES)]


@pytest.mark.parametrize(("module", "tree"), ALL, ids=[name for name, _ in ALL])
def test_only_config_reads_the_environment_and_only_cli_parses_flags(
    module: str, tree: ast.Module
) -> None:
    names = imported(tree, module)
    if not within(module, "endpointlab.cli"):
        assert not ({"argparse", "click", "typer"} & names), f"{module} parses flags"
    if within(module, "endpointlab.config"):
        return
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func) in ("os.getenv", "os.environ.get"):
            pytest.fail(f"{module} reads the environment at line {node.lineno}")
        reads = isinstance(node, ast.Subscript) and isinstance(node.ctx, ast.Load)
        if reads and _dotted(node.value) == "os.environ":
            pytest.fail(f"{module} reads os.environ at line {node.lineno}")


@pytest.mark.parametrize(("module", "tree"), ALL, ids=[name for name, _ in ALL])
def test_every_module_has_a_docstring(module: str, tree: ast.Module) -> None:
    assert ast.get_docstring(tree), f"{module} needs a short docstring at its top"


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""

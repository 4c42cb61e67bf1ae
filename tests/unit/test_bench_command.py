"""``endpointlab bench``'s refusals, each one line with status 2 before anything starts."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from endpointlab.cli import main


def bench(*args: str) -> tuple[int, str]:
    outcome = CliRunner().invoke(main, ["bench", *args])
    return outcome.exit_code, outcome.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "give one of PLAN, --resume RUN_DIR or --reanalyse RUN_DIR"),
        (("nonsense",), "nonsense is neither a plan file nor a built-in plan (serverless, "),
        (("--resume", "nowhere"), "cannot read the plan nowhere/plan.yaml"),
        (("--reanalyse", "nowhere"), "no run result at nowhere"),
    ],
)
def test_what_cannot_run_is_refused_in_one_line(args: tuple[str, ...], message: str) -> None:
    code, output = bench(*args)
    assert code == 2
    assert output.startswith(f"endpointlab: error: {message}")
    assert output.count("\n") == 1


def test_a_bad_plan_file_names_the_field_and_line(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "name: p\nmodel: {artifact: m.tar.gz}\nobjective: {latency_ms: 100}\n"
        "configurations:\n  - {name: a, kind: realtime, instance_type: ml.c5.large, "
        "instance_count: 0}\nphases: [{name: s, clients: 1, duration: 1}]\n"
    )
    code, output = bench(str(plan))
    assert code == 2
    assert output == (
        f"endpointlab: error: {plan} line 5: configurations.0.instance_count: "
        "Input should be greater than or equal to 1\n"
    )


def test_a_missing_model_and_a_used_run_directory_are_refused(tmp_path: Path) -> None:
    plan = tmp_path / "plan.yaml"
    plan.write_text(
        "name: p\nmodel: {artifact: m.tar.gz}\nobjective: {latency_ms: 100}\n"
        "configurations: [{name: a, kind: realtime, instance_type: ml.c5.large}]\n"
        "phases: [{name: s, clients: 1, duration: 1}]\n"
    )
    code, output = bench(str(plan), "--out", str(tmp_path / "run"))
    assert code == 2
    assert output == f"endpointlab: error: the model artifact {tmp_path}/m.tar.gz does not exist\n"
    code, output = bench(str(plan), "--out", str(tmp_path))
    assert code == 2 and "is not empty: choose another --out, or --resume it" in output

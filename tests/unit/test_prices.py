"""endpointlab.prices: the bundled, dated price table and user price files."""

from __future__ import annotations

import csv
from importlib import resources
from pathlib import Path

import pytest

from endpointlab.catalogue import instance_type
from endpointlab.prices import PriceError, load_prices

MEMORY_SIZES = (1024, 2048, 3072, 4096, 5120, 6144)


def test_every_bundled_figure_has_evidence_a_source_and_a_date() -> None:
    table = load_prices()
    assert table.region == "us-east-1"
    for size in MEMORY_SIZES:
        for kind in ("duration", "provisioned", "provisioned_duration"):
            assert table.item(f"serverless.{kind}.{size}") is not None, (kind, size)
    for price in table.prices.values():
        assert price.evidence and price.source and price.date
    assert table.item("serverless.duration.1024").usd == 0.00002  # type: ignore[union-attr]
    assert table.item("serverless.duration.2048").unconfirmed  # type: ignore[union-attr]
    assert not table.item("serverless.duration.1024").unconfirmed  # type: ignore[union-attr]
    assert table.item("data.in").usd == 0.016  # type: ignore[union-attr]


def test_instance_prices_come_from_the_catalogue_not_a_copy() -> None:
    text = resources.files("endpointlab").joinpath("data/prices.csv").read_text()
    assert "ml." not in text
    found = load_prices().instance("realtime", "ml.m5.xlarge")
    assert found is not None
    item, price = found
    entry = instance_type("ml.m5.xlarge")
    assert entry is not None
    assert (item, price.usd, price.evidence) == ("instance.ml.m5.xlarge", 0.23, entry.evidence)
    assert load_prices().instance("realtime", "ml.inf2.xlarge") is None  # no known price


def test_another_region_has_no_bundled_prices() -> None:
    table = load_prices("eu-west-1")
    assert table.prices == {}
    assert "eu-west-1" in table.source


def test_a_csv_price_file_overrides_the_figures_it_names(tmp_path: Path) -> None:
    path = tmp_path / "mine.csv"
    with path.open("w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["item", "usd", "region", "date"])
        writer.writerow(["instance.ml.m5.large", "0.1", "", "2026-12-01"])
        writer.writerow(["async.ml.m5.large", "0.09", "us-east-1", ""])
        writer.writerow(["serverless.duration.2048", "1", "eu-west-1", ""])
    table = load_prices(user_file=path)
    assert table.instance("realtime", "ml.m5.large") == (
        "instance.ml.m5.large",
        table.prices["instance.ml.m5.large"],
    )
    assert table.prices["instance.ml.m5.large"].usd == 0.1
    assert table.prices["instance.ml.m5.large"].source == str(path)
    assert table.instance("async", "ml.m5.large")[1].usd == 0.09  # type: ignore[index]
    assert table.item("serverless.duration.2048").usd == 0.00004  # type: ignore[union-attr]
    assert f"2 figures from {path}" in table.source


def test_a_yaml_price_file_overrides_too(tmp_path: Path) -> None:
    path = tmp_path / "mine.yaml"
    path.write_text(
        "region: us-east-1\nprices:\n  data.out: 0.02\n"
        "  serverless.duration.1024: {usd: 0.000021, evidence: pricing page, date: 2026-12-07}\n"
    )
    table = load_prices(user_file=path)
    assert table.item("data.out").usd == 0.02  # type: ignore[union-attr]
    price = table.item("serverless.duration.1024")
    assert price is not None
    assert (price.usd, price.evidence, price.date) == (0.000021, "pricing page", "2026-12-07")


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("a.csv", "item,usd\nserverless.duration.2048,cheap\n", "a.csv line 2: usd 'cheap'"),
        ("a.csv", "item,usd\ninstance.ml.m5.large,-1\n", "is not a non-negative number"),
        ("a.csv", "item,usd\n\nlambda.requests,0.2\n", "a.csv line 3: unknown price item"),
        ("a.csv", "item,price\nx,1\n", "has no 'usd' column"),
        ("a.yaml", "prices: [1, 2]\n", "needs a 'prices:' mapping"),
        ("a.yaml", "prices:\n  data.in: true\n", "usd True of data.in"),
        ("a.yaml", "prices: {data.in: 1\n", "is not valid YAML"),
        ("a.json", "{}", "a price file is .csv, .yaml or .yml"),
    ],
)
def test_a_bad_price_file_gets_one_line(tmp_path: Path, name: str, text: str, message: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(PriceError) as error:
        load_prices(user_file=path)
    assert message in str(error.value)
    assert "\n" not in str(error.value)


def test_a_missing_price_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(PriceError, match=r"cannot read price file .*nope\.csv"):
        load_prices(user_file=tmp_path / "nope.csv")

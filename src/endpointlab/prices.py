"""The dated price table the cost model uses: bundled data, optionally overridden by a user file.

Bundled: ``data/prices.csv`` (serverless duration and provisioned concurrency by memory size,
data processed) and the instance catalogue's hourly prices (``data/instance_types.csv``), both
us-east-1 on-demand, each figure with its evidence and date. A user price file, CSV (columns
``item,usd`` and optionally ``region,unit,evidence,source,date``) or YAML (``prices:`` mapping
each item to a number or to ``{usd, unit, evidence, source, date}``, optional ``region:``),
replaces the figures it names for its region.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from endpointlab.analysis.cost import Price, PriceTable
from endpointlab.catalogue import known_instance_types

CATALOGUE_REGION = "us-east-1"  # the catalogue's hourly prices are us-east-1 on-demand
CATALOGUE_DATE = "2026-11"
ITEM = re.compile(
    r"^(serverless\.(duration|provisioned|provisioned_duration)\.\d+"
    r"|data\.(in|out)"
    r"|(instance|realtime|async)\.ml\.[a-z0-9-]+\.[a-z0-9]+)$"
)
ITEMS_HELP = (
    "serverless.duration.<MB>, serverless.provisioned.<MB>, "
    "serverless.provisioned_duration.<MB>, data.in, data.out, instance|realtime|async.<ml type>"
)
_FIELDS = ("unit", "evidence", "source", "date")


class PriceError(ValueError):
    """A price file that cannot be used: the message is one line for the user."""


def _price(where: str, item: str, raw: Mapping[str, Any], default_source: str) -> Price:
    if not ITEM.match(item):
        raise PriceError(f"{where}: unknown price item {item!r} (items: {ITEMS_HELP})")
    value = raw.get("usd")
    try:
        usd = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        usd = math.nan
    if isinstance(value, bool) or not (math.isfinite(usd) and usd >= 0):
        raise PriceError(f"{where}: usd {value!r} of {item} is not a non-negative number")
    text = {name: str(raw.get(name) or "") for name in _FIELDS}
    return Price(
        usd=usd,
        unit=text["unit"],
        evidence=text["evidence"],
        source=text["source"] or default_source,
        date=text["date"],
    )


def _csv_rows(text: str, where: str) -> Iterable[tuple[str, dict[str, str]]]:
    lines = [
        (n, line)
        for n, line in enumerate(text.splitlines(), 1)
        if line.strip() and not line.startswith("#")
    ]
    reader = csv.DictReader(line for _, line in lines)
    for column in ("item", "usd"):
        if column not in (reader.fieldnames or ()):
            raise PriceError(f"{where} has no {column!r} column")
    for index, row in enumerate(reader, 1):
        yield f"{where} line {lines[index][0]}", row


@cache
def _bundled(region: str) -> dict[str, Price]:
    text = resources.files("endpointlab").joinpath("data/prices.csv").read_text()
    table = {
        row["item"]: _price(at, row["item"] or "", row, "endpointlab prices.csv")
        for at, row in _csv_rows(text, "prices.csv")
        if row["region"] == region
    }
    if region == CATALOGUE_REGION:
        for entry in known_instance_types():
            if entry.usd_per_hour is not None:
                table[f"instance.{entry.name}"] = Price(
                    usd=entry.usd_per_hour,
                    unit="instance-hour",
                    evidence=entry.evidence,
                    source="endpointlab instance catalogue",
                    date=CATALOGUE_DATE,
                )
    return table


def _user_prices(path: Path, region: str) -> dict[str, Price]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise PriceError(f"cannot read price file {path}: {error.strerror}") from None
    where = str(path)
    if path.suffix.lower() == ".csv":
        return {
            row["item"] or "": _price(at, row["item"] or "", row, where)
            for at, row in _csv_rows(text, where)
            if (row.get("region") or region) == region
        }
    if path.suffix.lower() not in (".yaml", ".yml"):
        raise PriceError(f"{where}: a price file is .csv, .yaml or .yml")
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = f" line {mark.line + 1}" if mark is not None else ""
        raise PriceError(f"{where}{line} is not valid YAML") from None
    if not isinstance(data, dict) or not isinstance(data.get("prices"), dict):
        raise PriceError(f"{where} needs a 'prices:' mapping of item to price")
    if str(data.get("region") or region) != region:
        return {}
    table = {}
    for item, raw in data["prices"].items():
        fields = raw if isinstance(raw, dict) else {"usd": raw}
        table[str(item)] = _price(where, str(item), fields, where)
    return table


def load_prices(region: str = CATALOGUE_REGION, user_file: Path | None = None) -> PriceTable:
    """The price table for ``region``; ``user_file``'s figures replace the bundled ones."""
    prices = dict(_bundled(region))
    source = f"endpointlab prices.csv and instance catalogue ({region}, read {CATALOGUE_DATE})"
    if user_file is not None:
        overrides = _user_prices(user_file, region)
        prices.update(overrides)
        source += f"; {len(overrides)} figures from {user_file}"
    return PriceTable(region=region, prices=prices, source=source)

"""The provisioning-time model: how long AWS would take to bring capacity up, waited for real.

Locally an instance starts in milliseconds; on AWS a real-time instance takes minutes and a
serverless cold start seconds. ``Provisioning`` draws each modelled delay from the figures of
``ProvisioningOptions`` (one seeded stream per figure, so a seed replays the same delays) and the
endpoint kinds wait it before they start an instance, on top of the measured model load; what
they report keeps the two apart. ``options`` builds the options from ``serve``'s flags and file.
"""

from __future__ import annotations

import asyncio
import random
import secrets
from dataclasses import fields
from pathlib import Path
from typing import Any

import yaml

from endpointlab.config import (
    AWS_INSTANCE_LAUNCH,
    AWS_SERVERLESS_COLD_START,
    DelayRange,
    ProvisioningOptions,
    SettingsError,
)

PRESETS = {
    "off": ProvisioningOptions(),
    "aws": ProvisioningOptions(AWS_INSTANCE_LAUNCH, AWS_SERVERLESS_COLD_START),
}
FIGURES = tuple(f.name for f in fields(ProvisioningOptions) if f.name != "seed")


def options(preset: str, file: Path | None = None, seed: int | None = None) -> ProvisioningOptions:
    """``preset``'s figures, overridden by those ``file`` (YAML or JSON) gives, with ``seed``
    (None: a fresh one, which ``describe`` shows so a run can be replayed)."""
    base = PRESETS[preset]
    given = _read(file) if file is not None else {}
    return ProvisioningOptions(
        instance_launch=given.get("instance_launch", base.instance_launch),
        serverless_cold_start=given.get("serverless_cold_start", base.serverless_cold_start),
        seed=secrets.randbits(32) if seed is None else seed,
    )


def describe(settings: ProvisioningOptions) -> str:
    """The modelled delays in words for serve's banner ("off" when there are none)."""
    parts = [
        f"{name.replace('_', ' ')} {_range(getattr(settings, name))}"
        for name in FIGURES
        if getattr(settings, name).max_s > 0
    ]
    return f"{', '.join(parts)} (seed {settings.seed})" if parts else "off"


def _range(delay: DelayRange) -> str:
    if delay.min_s == delay.max_s:
        return f"{delay.min_s:g} s"
    return f"{delay.min_s:g}-{delay.max_s:g} s"


def _read(file: Path) -> dict[str, DelayRange]:
    """The figures of a provisioning file: ``figure: SECONDS`` or ``figure: {min_s, max_s}``."""
    try:
        data = yaml.safe_load(file.read_text())
    except OSError as exc:
        raise SettingsError(f"provisioning file {file}: {exc.strerror or exc}") from exc
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise SettingsError(f"provisioning file {file}: not valid YAML or JSON{line}") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise SettingsError(f"provisioning file {file}: expected a mapping of figures")
    figures = {}
    for name, value in data.items():
        if name not in FIGURES:
            known = ", ".join(FIGURES)
            raise SettingsError(f"provisioning file {file}: unknown figure {name!r} ({known})")
        figures[name] = _delay(file, name, value)
    return figures


def _delay(file: Path, name: str, value: Any) -> DelayRange:
    bounds = value if isinstance(value, dict) else {"min_s": value, "max_s": value}
    low, high = bounds.get("min_s"), bounds.get("max_s")
    if set(bounds) - {"min_s", "max_s"} or not (_seconds(low) and _seconds(high)):
        raise SettingsError(
            f"provisioning file {file}: {name} must be seconds or {{min_s: S, max_s: S}}"
        )
    assert isinstance(low, int | float) and isinstance(high, int | float)
    if low < 0 or high < low:
        raise SettingsError(f"provisioning file {file}: {name} needs 0 <= min_s <= max_s")
    return DelayRange(float(low), float(high))


def _seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class Provisioning:
    """Draws modelled provisioning delays (seconds); all zero when the options are off."""

    def __init__(self, settings: ProvisioningOptions | None = None) -> None:
        self.options = settings or ProvisioningOptions()
        seed = self.options.seed if self.options.seed is not None else secrets.randbits(64)
        self._streams = {name: random.Random(f"{seed}:{name}") for name in FIGURES}

    def instance_launch(self) -> float:
        """A real-time (or async) instance's launch, before its model loads."""
        return self._draw("instance_launch", self.options.instance_launch)

    def serverless_cold_start(self) -> float:
        """A serverless cold start's container provisioning, before the model loads."""
        return self._draw("serverless_cold_start", self.options.serverless_cold_start)

    def _draw(self, name: str, delay: DelayRange) -> float:
        if delay.max_s <= 0:
            return 0.0
        return self._streams[name].uniform(delay.min_s, delay.max_s)


async def wait(seconds: float) -> None:
    """Wait out a modelled delay (the capacity is not there before it ends)."""
    if seconds > 0:
        await asyncio.sleep(seconds)

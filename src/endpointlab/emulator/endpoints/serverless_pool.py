"""The idle warm capacity of a serverless variant: which instance takes the next request, and
when an idle on-demand instance is reclaimed.

Provisioned instances serve first (requests spill over to on-demand capacity only when all are
busy), then the most recently used on-demand one, so the others can age out: an on-demand
instance nobody takes within the keep-warm period is handed to ``reclaim`` (which retires it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from endpointlab.emulator.endpoints.serverless_instances import Instance


class WarmPool:
    """Idle instances, provisioned and on-demand (least recently used first)."""

    def __init__(self, keep_warm_s: float, reclaim: Callable[[Instance], None]) -> None:
        self._keep_warm_s = keep_warm_s
        self._reclaim = reclaim
        self._provisioned: list[Instance] = []
        self._on_demand: list[Instance] = []

    def __len__(self) -> int:
        return len(self._provisioned) + len(self._on_demand)

    def take(self) -> Instance:
        """The instance for the next request (the pool is not empty)."""
        if self._provisioned:
            return self._provisioned.pop()
        instance = self._on_demand.pop()
        _cancel_reclaim(instance)
        return instance

    def keep(self, instance: Instance) -> None:
        """An idle provisioned instance: it stays until it is handed back (``hand_back``)."""
        self._provisioned.append(instance)

    def park(self, instance: Instance) -> None:
        """Idle on-demand capacity: reclaimed unless a request takes it within keep-warm."""
        loop = asyncio.get_running_loop()
        instance.reclaim = loop.call_later(self._keep_warm_s, self._expire, instance)
        self._on_demand.append(instance)

    def hand_back(self, count: int) -> int:
        """Turn up to ``count`` idle provisioned instances into on-demand capacity (a lower
        ProvisionedConcurrency); the number not found idle (still busy) is returned."""
        for instance in list(self._provisioned):
            if count <= 0:
                break
            self._provisioned.remove(instance)
            instance.provisioned = False
            self.park(instance)
            count -= 1
        return count

    def forget(self, instance: Instance) -> None:
        """An instance that exited: no longer idle, never reclaimed."""
        for pool in (self._on_demand, self._provisioned):
            if instance in pool:
                pool.remove(instance)
        _cancel_reclaim(instance)

    def clear(self) -> None:
        """Nothing is idle any more (the variant stops every instance itself)."""
        for instance in self._on_demand:
            _cancel_reclaim(instance)
        self._on_demand.clear()
        self._provisioned.clear()

    def _expire(self, instance: Instance) -> None:
        instance.reclaim = None
        if instance in self._on_demand:
            self._on_demand.remove(instance)
            self._reclaim(instance)


def _cancel_reclaim(instance: Instance) -> None:
    if instance.reclaim is not None:
        instance.reclaim.cancel()
        instance.reclaim = None

"""Asynchronous endpoints, simulated: a durable FIFO queue in front of instances.

InvokeEndpointAsync is accepted at once; the request waits in the endpoint's queue until one of
the in-service instances' MaxConcurrentInvocationsPerInstance slots is free. A request still
queued after RequestTTLSeconds expires (counted when its turn comes, at arrival + TTL). Scaling
tracks ApproximateBacklogSizePerInstance and may reach zero instances; from zero, the step
policy on HasBacklogWithoutCapacity starts one (``scaling.Scaler``). Latency is end to end:
queue time plus processing, as the output's appearance would show it.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

from endpointlab.simulate.arrivals import Traffic, pieces
from endpointlab.simulate.distributions import Distribution, seeded_streams
from endpointlab.simulate.outcome import EXPIRED, MODEL_ERROR, OUTCOME_SHIFT, Recorder
from endpointlab.simulate.scaling import Scaler
from endpointlab.simulate.specs import AsyncSpec

INF = math.inf
DONE, TICK, READY = 0, 2, 3


def simulate_async(  # noqa: PLR0915 (one loop of locals: that is its speed)
    spec: AsyncSpec,
    traffic: Traffic,
    service: Distribution,
    cold: Distribution,
    seed: int = 0,
) -> Recorder:
    arrival_rng, services, colds = seeded_streams(seed, service, cold)
    rec = Recorder()
    ats: list[float] = []  # rows buffered while the loop works through a piece of arrivals
    lats: list[float] = []
    infos: list[int] = []
    timeout, ttl, slots = spec.invocation_timeout_s, spec.ttl_s, spec.per_instance
    horizon = traffic.duration_s
    heap: list[tuple[float, int, float, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    queue: deque[float] = deque()
    in_service = spec.instances
    starting = 0
    busy = 0
    rec.capacity.append((0.0, in_service))
    scaler = Scaler(spec.scaling, spec.instances) if spec.scaling else None
    period = spec.scaling.period_s if spec.scaling else INF
    if scaler:
        push(heap, (period, TICK, 0.0, 0))
    svc, si = services.batch(), 0
    compute = 0.0
    arrivals = pieces(traffic.chunks(arrival_rng))
    times: list[float] = []
    ti = count = 0
    t = 0.0
    while True:
        if ti == count:
            rec.take(ats, lats, infos)
            times = next(arrivals, [INF])
            ti, count = 0, len(times)
        next_open = times[ti]
        # Events due before the next arrival, in an inner loop (they are half of all events).
        while heap and heap[0][0] <= next_open:
            t, code, arrived, word = pop(heap)
            if code == DONE:
                ats.append(arrived)
                lats.append((t - arrived) * 1000.0)
                infos.append(word)
                busy -= 1
                if queue:  # a waiting request takes the slot
                    break
                continue
            if code == TICK:
                assert scaler is not None
                backlog = len(queue)
                metric = backlog / in_service if in_service else None
                wanted = scaler.observe(t, metric, in_service, backlog)
                current = in_service + starting
                if wanted > current:
                    for _ in range(wanted - current):
                        push(heap, (t + spec.provisioning_s + colds.next(), READY, 0.0, 0))
                    starting += wanted - current
                elif wanted < current:
                    in_service = max(wanted, in_service - (current - wanted))
                rec.capacity.append((t, in_service + starting))
                if t + period < horizon or queue or busy or starting or next_open != INF:
                    push(heap, (t + period, TICK, 0.0, 0))
                continue
            # READY
            starting -= 1
            in_service += 1
            break
        else:
            if next_open == INF:
                break
            t = next_open
            ti += 1
            queue.append(t)
        # Start what the free slots can take.
        while queue and busy < in_service * slots:
            arrived = queue.popleft()
            if t - arrived > ttl:
                ats.append(arrived)
                lats.append(ttl * 1000.0)
                infos.append(1 | EXPIRED << OUTCOME_SHIFT)
                continue
            try:
                duration = svc[si]
            except IndexError:  # the batch is spent
                svc, si = services.batch(), 0
                duration = svc[0]
            si += 1
            word = 1
            if duration > timeout:
                duration, word = timeout, 1 | MODEL_ERROR << OUTCOME_SHIFT
            compute += duration
            busy += 1
            push(heap, (t + duration, DONE, arrived, word))
    for arrived in queue:  # no capacity was ever coming: each expires at its TTL
        ats.append(arrived)
        lats.append(ttl * 1000.0)
        infos.append(1 | EXPIRED << OUTCOME_SHIFT)
    rec.take(ats, lats, infos)
    rec.compute_s = compute
    rec.end_s = max(horizon, t)
    rec.capacity.append((rec.end_s, in_service + starting))
    return rec

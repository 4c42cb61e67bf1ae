"""Real-time endpoints, simulated with the emulator's rules (``emulator/endpoints/realtime``).

Each instance has ``workers`` slots and one FIFO queue; a request goes to the in-service
instance with the fewest outstanding requests (the first of equals) and waits there for a free
worker. Nothing is refused. With a target-tracking policy on InvocationsPerInstance, new
instances serve after ``provisioning_s`` plus a model load (a cold-start draw); instances
removed by scale-in take no new requests and stop once their queue is empty. ``overhead_s`` is
time a client sees that holds no worker (HTTP, network), added to every latency.
"""

from __future__ import annotations

import heapq
import math
from collections import deque

from endpointlab.simulate.arrivals import MIN_CYCLE_S, ClosedTraffic, Traffic, pieces
from endpointlab.simulate.distributions import Distribution, seeded_streams
from endpointlab.simulate.outcome import (
    BUFFERED,
    DEADLINE,
    MODEL_ERROR,
    OUTCOME_SHIFT,
    Recorder,
)
from endpointlab.simulate.scaling import Scaler
from endpointlab.simulate.specs import ClientSpec, RealtimeSpec

INF = math.inf
SEND, TICK, READY = 1, 2, 3


def simulate_realtime(  # noqa: PLR0915 (one loop of locals: that is its speed)
    spec: RealtimeSpec,
    traffic: Traffic,
    service: Distribution,
    cold: Distribution,
    client: ClientSpec | None = None,
    seed: int = 0,
    overhead_s: float = 0.0,
) -> Recorder:
    client = client or ClientSpec()
    arrival_rng, services, colds = seeded_streams(seed, service, cold)
    rec = Recorder()
    ats: list[float] = []  # rows buffered while the loop works through a piece of arrivals
    lats: list[float] = []
    infos: list[int] = []
    deadline = client.deadline_s if client.deadline_s is not None else INF
    timeout = spec.invocation_timeout_s
    workers = spec.workers
    closed = isinstance(traffic, ClosedTraffic)
    think = traffic.think_s if isinstance(traffic, ClosedTraffic) else 0.0
    horizon = traffic.duration_s
    # Completions in one heap, the rest (scaling ticks, instances ready, a closed loop's sends)
    # in another; at equal times a completion comes first, then those, then an arrival.
    heap: list[tuple[float, float, int, int]] = []  # (done, intended, info word, instance)
    control: list[tuple[float, int]] = []
    push, pop = heapq.heappush, heapq.heappop
    # Per instance: outstanding requests (its busy workers are min(outstanding, workers)), its
    # queue and its place in ``serving``, the instances that take new requests (-1: draining or
    # stopped). ``load`` has the serving instances' outstanding counts in that order and
    # ``least`` their minimum, kept up to date, so routing is one list search.
    outstanding: list[int] = []
    queues: list[deque[float]] = []
    place: list[int] = []
    serving: list[int] = []
    load: list[int] = []
    for _ in range(spec.instances):
        place.append(len(serving))
        serving.append(len(outstanding))
        outstanding.append(0)
        queues.append(deque())
        load.append(0)
    least = 0
    live = spec.instances  # instances billed: starting, serving or draining
    rec.capacity.append((0.0, live))
    scaler = Scaler(spec.scaling, spec.instances) if spec.scaling else None
    period = spec.scaling.period_s if spec.scaling else INF
    if scaler:
        push(control, (period, TICK))
    next_control = control[0][0] if control else INF
    invocations = 0
    starting = 0
    compute = 0.0
    svc, si = services.batch(), 0
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
        upcoming = next_control if next_control <= next_open else next_open
        # Completions due before the next control event or arrival, in an inner loop.
        while heap and heap[0][0] <= upcoming:
            t, intended, word, index = pop(heap)
            latency = t - intended + overhead_s
            if latency > deadline:
                latency = deadline
                word = (word & 0x1FF) | DEADLINE << OUTCOME_SHIFT
            ats.append(intended)
            lats.append(latency * 1000.0)
            infos.append(word)
            if closed:
                if len(ats) >= BUFFERED:
                    rec.take(ats, lats, infos)
                end = intended + max(latency + think, MIN_CYCLE_S)
                if end < horizon:
                    push(control, (end, SEND))
                    next_control = control[0][0]
                    upcoming = next_control if next_control <= next_open else next_open
            left = outstanding[index] - 1
            outstanding[index] = left
            position = place[index]
            if position >= 0:
                load[position] = left
                if left < least:  # noqa: PLR1730 (min() is a call, this is the hot loop)
                    least = left
            if left >= workers:  # the queue is not empty: its head takes the worker
                waited = queues[index].popleft()
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
                push(heap, (t + duration, waited, word, index))
            elif position < 0 and not left:  # a draining instance stops
                live -= 1
                rec.capacity.append((t, live))
        if next_control <= next_open:
            if next_control == INF:
                break
            t, code = pop(control)
            next_control = control[0][0] if control else INF
            if code == TICK:
                assert scaler is not None
                in_service = len(serving)
                # No invocations, no datapoint: the alarms see INSUFFICIENT_DATA, nothing scales.
                metric = invocations / in_service if in_service and invocations else None
                invocations = 0
                wanted = scaler.observe(t, metric, in_service)
                current = in_service + starting
                if wanted > current:
                    for _ in range(wanted - current):
                        push(control, (t + spec.provisioning_s + colds.next(), READY))
                    starting += wanted - current
                    live += wanted - current
                    rec.capacity.append((t, live))
                elif wanted < current and in_service > 1:
                    for index in serving[max(1, wanted) :]:
                        place[index] = -1
                        if not outstanding[index]:
                            live -= 1
                    del serving[max(1, wanted) :]
                    del load[max(1, wanted) :]
                    least = min(load)
                    rec.capacity.append((t, live))
                if t + period < horizon or heap or control or next_open != INF:
                    push(control, (t + period, TICK))
                next_control = control[0][0] if control else INF
                continue
            if code == READY:
                starting -= 1
                place.append(len(serving))
                serving.append(len(outstanding))
                outstanding.append(0)
                queues.append(deque())
                load.append(0)
                least = 0
                continue
            intended = t  # SEND: a closed loop's next call
        else:
            t = intended = next_open
            ti += 1
        # A request arrives at t.
        invocations += 1
        position = load.index(least)  # the first idle instance, else the first least busy
        index = serving[position]
        held = least + 1
        load[position] = outstanding[index] = held
        if least not in load:
            least = held
        if held <= workers:
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
            push(heap, (t + duration, intended, word, index))
        else:
            queues[index].append(intended)
    rec.take(ats, lats, infos)
    rec.compute_s = compute
    rec.end_s = max(horizon, t)
    rec.capacity.append((rec.end_s, live))
    return rec

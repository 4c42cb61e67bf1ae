"""Serverless endpoints, simulated with the emulator's rules (``emulator/endpoints/serverless``).

A request is admitted while fewer than MaxConcurrency are in flight, else throttled at once
(``ThrottlingException``; the client's retry mode decides what follows). An admitted request
takes an idle provisioned instance, else the most recently used idle on-demand one, else starts
an instance and waits for its cold start. On-demand instances idle for the keep-warm period are
reclaimed. ``overhead_s`` is time a client sees that holds no instance (HTTP, network), added
to every latency. Completions and client sends wait in two heaps; arrivals are merged in from
sorted pieces; every per-request value is a plain float or int. The loop is one function of
locals on purpose: attribute lookups and calls per event are what limit its speed.
"""

from __future__ import annotations

import heapq
import math
import random

from endpointlab.simulate.arrivals import MIN_CYCLE_S, ClosedTraffic, Traffic, pieces
from endpointlab.simulate.distributions import Distribution, seeded_streams
from endpointlab.simulate.outcome import (
    BUFFERED,
    COLD_BIT,
    DEADLINE,
    MODEL_ERROR,
    OUTCOME_SHIFT,
    THROTTLED,
    Recorder,
)
from endpointlab.simulate.retries import Retrier
from endpointlab.simulate.specs import ClientSpec, ServerlessSpec

INF = math.inf


def simulate_serverless(  # noqa: PLR0915 (one loop of locals: that is its speed)
    spec: ServerlessSpec,
    traffic: Traffic,
    service: Distribution,
    cold: Distribution,
    client: ClientSpec | None = None,
    seed: int = 0,
    overhead_s: float = 0.0,
) -> Recorder:
    client = client or ClientSpec()
    arrival_rng, services, colds = seeded_streams(seed, service, cold)
    retrier = Retrier(client.retry, random.Random(seed).random)
    rec = Recorder()
    ats: list[float] = []  # rows buffered while the loop works through a piece of arrivals
    lats: list[float] = []
    infos: list[int] = []
    cold_append = rec.cold_ms.append  # one per cold row, in row order
    deadline = client.deadline_s if client.deadline_s is not None else INF
    timeout = spec.invocation_timeout_s
    keep_warm = spec.keep_warm_s
    limit = spec.max_concurrency
    closed = isinstance(traffic, ClosedTraffic)
    think = traffic.think_s if isinstance(traffic, ClosedTraffic) else 0.0
    horizon = traffic.duration_s
    # Completions and client sends (retries, a closed loop's next call) in two heaps: the few
    # completions in flight then need no walk past the many retries waiting out their backoff.
    # At equal times a completion comes first, then a send, then an arrival, as in one heap.
    heap: list[tuple[float, float, int, float]] = []  # (done, intended, info word, extra)
    sends: list[tuple[float, float, int, int]] = []  # (time, intended, attempt, throttles)
    next_send = INF
    push, pop = heapq.heappush, heapq.heappop
    in_flight = 0
    idle_provisioned = spec.provisioned_concurrency
    idle: list[float] = []  # when each idle on-demand instance was last released
    compute = 0.0
    served = 0
    reclaimed = 0
    svc, si = services.batch(), 0
    arrivals = pieces(traffic.chunks(arrival_rng))
    standard, after_throttle = retrier.standard, retrier.after_throttle
    # Legacy mode (and none) inlined: the same draw as after_throttle, without a call per throttle.
    last_attempt, backoff, rand = retrier.attempts, retrier.legacy_backoff(), retrier.random
    times: list[float] = []
    ti = count = 0
    t = 0.0
    while True:
        if ti == count:
            rec.take(ats, lats, infos)
            times = next(arrivals, [INF])
            ti, count = 0, len(times)
        next_open = times[ti]
        upcoming = next_send if next_send <= next_open else next_open
        # Completions due before the next send or arrival, in an inner loop.
        while heap and heap[0][0] <= upcoming:
            # extra: -1 on a provisioned instance, else the cold start (s)
            t, intended, word, extra = pop(heap)
            in_flight -= 1
            if extra < 0:
                idle_provisioned += 1
            else:
                idle.append(t)
                if extra:
                    cold_append(extra * 1000.0)
            latency = t - intended + overhead_s
            if latency > deadline:
                latency = deadline
                word = (word & 0x1FF) | DEADLINE << OUTCOME_SHIFT
            ats.append(intended)
            lats.append(latency * 1000.0)
            infos.append(word)
            if standard and not word >> OUTCOME_SHIFT:
                retrier.after_success((word & 15) > 1)
            if closed:
                if len(ats) >= BUFFERED:
                    rec.take(ats, lats, infos)
                end = intended + max(latency + think, MIN_CYCLE_S)
                if end < horizon:
                    push(sends, (end, end, 1, 0))
                    next_send = sends[0][0]
                    upcoming = next_send if next_send <= next_open else next_open
        if next_send <= next_open:
            if next_send == INF:
                break
            t, intended, attempt, throttles = pop(sends)
            next_send = sends[0][0] if sends else INF
        else:
            t = intended = next_open
            ti += 1
            attempt, throttles = 1, 0
        # An attempt arrives at t.
        if in_flight >= limit:
            if standard:
                delay = after_throttle(attempt)
            else:
                delay = rand() * backoff[attempt] if attempt < last_attempt else None
            throttles += 1
            if delay is None or t + delay - intended >= deadline:
                gave_up = THROTTLED if delay is None else DEADLINE
                latency = t - intended + overhead_s if delay is None else deadline
                ats.append(intended)
                lats.append(latency * 1000.0)
                infos.append(attempt | throttles << 4 | gave_up << OUTCOME_SHIFT)
                if closed and (end := intended + max(latency + think, MIN_CYCLE_S)) < horizon:
                    push(sends, (end, end, 1, 0))
                    next_send = sends[0][0]
            else:
                push(sends, (t + delay, intended, attempt + 1, throttles))
                next_send = sends[0][0]
            continue
        in_flight += 1
        try:
            duration = svc[si]
        except IndexError:  # the batch is spent
            svc, si = services.batch(), 0
            duration = svc[0]
        si += 1
        word = attempt | throttles << 4
        if duration > timeout:
            duration = timeout
            word |= MODEL_ERROR << OUTCOME_SHIFT
        compute += duration
        served += 1
        if idle_provisioned:
            idle_provisioned -= 1
            push(heap, (t + duration, intended, word, -1.0))
            continue
        if idle and t - idle[-1] <= keep_warm:
            idle.pop()
            push(heap, (t + duration, intended, word, 0.0))
        else:
            if idle:
                reclaimed += len(idle)  # the newest is past keep-warm, so are all older ones
                idle.clear()
            setup = max(colds.next(), 1e-9)
            push(heap, (t + setup + duration, intended, word | COLD_BIT, setup))
    rec.take(ats, lats, infos)
    rec.compute_s, rec.served = compute, served
    rec.reclaimed = reclaimed
    rec.end_s = max(horizon, t)
    return rec

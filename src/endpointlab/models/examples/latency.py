"""Measure how long a built-in model takes to predict one sample request, on a chosen thread count.

Times only ``predict`` (the body is decoded once, outside the timer), as the median of several
runs after a warm-up, so figures are comparable with the constants the example modules record.
"""

from __future__ import annotations

import time
from pathlib import Path

from endpointlab.models import codecs
from endpointlab.models.builtin import load_builtin_model
from endpointlab.models.examples.spec import InvokeArgs


def measure_predict_latency(
    model_dir: Path, request: InvokeArgs, *, threads: int = 1, repeats: int = 30, warmup: int = 3
) -> float:
    """Median milliseconds of ``predict`` on ``request`` for the model unpacked in ``model_dir``."""
    if repeats < 1:
        raise ValueError(f"repeats must be at least 1, not {repeats}")
    model = load_builtin_model(model_dir, threads=threads)
    data = codecs.decode(request["Body"], request["ContentType"])
    for _ in range(warmup):
        model.predict(data)
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        model.predict(data)
        samples.append(time.perf_counter() - started)
    samples.sort()
    middle = len(samples) // 2
    median = samples[middle] if len(samples) % 2 else (samples[middle - 1] + samples[middle]) / 2
    return median * 1000.0
